//! Paging of list requests: pages from 1, a default and a largest page size, the sort
//! direction, and the `i32` numbers of the response (the wire's type; counts are `i64` here).

use crate::fields::FieldError;

/// Page size when the caller gives none.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page a caller may ask for; more is served as this many.
pub const MAX_LIMIT: i64 = 100;

/// The page a list request asks for, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Page number, from 1.
    pub page: i64,
    /// Page size, 1..=[`MAX_LIMIT`].
    pub limit: i64,
    /// Newest (or last) first: the default.
    pub descending: bool,
}

impl PageRequest {
    /// Reads a request's pagination: page 0 is the first, limit 0 the default, a larger limit
    /// the largest; `sort_order` is `asc` or `desc` (any case, default `desc`).
    pub fn parse(page: i32, limit: i32, sort_order: &str) -> Result<Self, FieldError> {
        let page = match page {
            0 => 1,
            p if p < 0 => return Err(FieldError::Page(p)),
            p => i64::from(p),
        };
        let limit = self::limit(limit, DEFAULT_LIMIT, MAX_LIMIT)?;
        let descending = match sort_order.trim().to_ascii_lowercase().as_str() {
            "" | "desc" => true,
            "asc" => false,
            other => return Err(FieldError::SortOrder(other.to_owned())),
        };
        Ok(Self {
            page,
            limit,
            descending,
        })
    }

    /// The numbers of the response's pagination for `total` matching rows.
    pub fn counts(&self, total: i64) -> PageCounts {
        PageCounts {
            total: clamp_i32(total),
            page: clamp_i32(self.page),
            limit: clamp_i32(self.limit),
            total_pages: clamp_i32((total + self.limit - 1) / self.limit),
        }
    }
}

/// A response's pagination numbers, in the wire's `i32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCounts {
    /// Rows matching the request, on every page.
    pub total: i32,
    /// This page's number.
    pub page: i32,
    /// The page size applied.
    pub limit: i32,
    /// Pages at that size.
    pub total_pages: i32,
}

/// A requested number of items: 0 is `default`, more than `max` is `max`, negative refused.
pub fn limit(requested: i32, default: i64, max: i64) -> Result<i64, FieldError> {
    match requested {
        0 => Ok(default),
        l if l < 0 => Err(FieldError::Limit(l)),
        l => Ok(i64::from(l).min(max)),
    }
}

/// A count as the wire's `i32`: one too large for it reads as `i32::MAX`.
pub fn clamp_i32(count: i64) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_request_defaults_caps_and_refuses_nonsense() {
        let check =
            |page: i32, limit: i32, order: &str, expected: Result<(i64, i64, bool), &str>| {
                let got = PageRequest::parse(page, limit, order)
                    .map(|r| (r.page, r.limit, r.descending))
                    .map_err(|e| e.to_string());
                assert_eq!(
                    got,
                    expected.map_err(str::to_owned),
                    "page {page}, limit {limit}, order {order:?}"
                );
            };
        check(0, 0, "", Ok((1, 20, true)));
        check(3, 1000, "ASC", Ok((3, 100, false)));
        check(2, 50, " desc ", Ok((2, 50, true)));
        check(1, 1, "asc", Ok((1, 1, false)));
        check(-1, 10, "", Err("page must be 1 or more, got -1"));
        check(1, -5, "", Err("limit must be positive, got -5"));
        check(
            1,
            5,
            "sideways",
            Err("sort_order must be \"asc\" or \"desc\", got \"sideways\""),
        );
        // Errors come in the order of the fields: page, limit, then the order.
        check(-1, -1, "x", Err("page must be 1 or more, got -1"));
        check(1, -1, "x", Err("limit must be positive, got -1"));
    }

    #[test]
    fn a_limit_of_zero_is_the_default_and_a_large_one_the_maximum() {
        let check = |requested: i32, expected: Result<i64, FieldError>| {
            assert_eq!(limit(requested, 10, 100), expected, "{requested}");
        };
        check(0, Ok(10));
        check(1, Ok(1));
        check(100, Ok(100));
        check(101, Ok(100));
        check(i32::MAX, Ok(100));
        check(-1, Err(FieldError::Limit(-1)));
    }

    #[test]
    fn counts_round_pages_up_and_clamp_to_the_wire_type() {
        let request = |page, limit| PageRequest {
            page,
            limit,
            descending: true,
        };
        let check = |request: PageRequest, total: i64, expected: (i32, i32, i32, i32)| {
            let c = request.counts(total);
            assert_eq!(
                (c.total, c.page, c.limit, c.total_pages),
                expected,
                "{request:?} of {total}"
            );
        };
        check(request(1, 20), 0, (0, 1, 20, 0));
        check(request(1, 20), 20, (20, 1, 20, 1));
        check(request(2, 20), 21, (21, 2, 20, 2));
        check(
            request(1, 1),
            i64::from(i32::MAX) + 5,
            (i32::MAX, 1, 1, i32::MAX),
        );
    }
}
