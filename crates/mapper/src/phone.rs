//! Phone numbers reduced to a canonical form for matching (not for display: the client keeps
//! the number as entered).

/// French country calling code.
const FRANCE: &str = "33";

/// The digits of a phone number, in one form per number.
///
/// French numbers become their national form (`+33 6 12 34 56 78`, `0033612345678`,
/// `06.12.34.56.78` → `0612345678`); other international numbers keep `+` and their digits
/// (`+32 470 12 34 56` → `+32470123456`). A leading `+` or `00` marks an international
/// number. Returns `None` when there is no digit.
pub fn normalize_phone(s: &str) -> Option<String> {
    let trimmed = s.trim_start();
    let plus = trimmed.starts_with('+');
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let international = if plus {
        Some(digits.as_str())
    } else {
        digits.strip_prefix("00")
    };
    let Some(number) = international else {
        return Some(digits);
    };
    match number.strip_prefix(FRANCE) {
        // `+33 (0)6…` carries the national 0 already.
        Some(national) if national.starts_with('0') => Some(national.to_owned()),
        Some(national) if !national.is_empty() => Some(format!("0{national}")),
        _ if number.is_empty() => Some(digits),
        _ => Some(format!("+{number}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_normalize_to_one_form() {
        let cases = [
            ("+33 6 12 34 56 78", Some("0612345678")),
            ("0033612345678", Some("0612345678")),
            ("06.12.34.56.78", Some("0612345678")),
            ("06-12-34-56-78", Some("0612345678")),
            ("06 12 34 56 78", Some("0612345678")),
            ("0612345678", Some("0612345678")),
            ("+33 (0)6 12 34 56 78", Some("0612345678")),
            ("  +33612345678 ", Some("0612345678")),
            ("+32 470 12 34 56", Some("+32470123456")),
            ("0032 470 12 34 56", Some("+32470123456")),
            ("+1 (555) 010-9999", Some("+15550109999")),
            ("+33", Some("+33")),
            ("00", Some("00")),
            ("tel: 01 23", Some("0123")),
            ("+", None),
            ("n/a", None),
            ("", None),
            ("٠١٢", None),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_phone(input).as_deref(), expected, "{input:?}");
        }
    }
}
