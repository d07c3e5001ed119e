//! Masks for sensitive values that must never reach a log or a warning in clear: IBAN, BIC,
//! social security number and API tokens. (The credentials of a connection URL are masked by
//! `service_kit::urls`.)
//!
//! Every mask works on characters, so short or multibyte input never panics, and an empty
//! input gives an empty output.

/// Longest excerpt of a remote message kept by [`excerpt`], in characters.
pub const EXCERPT_MAX: usize = 200;

/// A message that came from outside (a parse error, an HTTP error body) made safe to quote
/// in a log, a sync log or an RPC answer: control characters escaped (`\n`, `\u{1b}`), and
/// cut to [`EXCERPT_MAX`] characters with `…`.
pub fn excerpt(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(EXCERPT_MAX + 8));
    for (count, c) in text.chars().enumerate() {
        if count == EXCERPT_MAX {
            out.push(ELLIPSIS);
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// What stands for the hidden middle of an IBAN.
const ELLIPSIS: char = '…';

/// Shows the country and check digits and the last 4 characters of an IBAN:
/// `FR7630006000011234567890189` → `FR76…0189`.
///
/// Whitespace is ignored. An IBAN too short to hide at least 4 characters that way shows only
/// its country code (`FR00…`).
pub fn mask_iban(iban: &str) -> String {
    let chars: Vec<char> = iban.chars().filter(|c| !c.is_whitespace()).collect();
    match chars.len() {
        0 => String::new(),
        n if n >= 12 => {
            let mut masked: String = chars.iter().take(4).collect();
            masked.push(ELLIPSIS);
            masked.extend(chars.iter().skip(n - 4));
            masked
        }
        n if n > 4 => {
            let mut masked: String = chars.iter().take(2).collect();
            masked.push(ELLIPSIS);
            masked
        }
        _ => ELLIPSIS.to_string(),
    }
}

/// Shows the bank code (first 4 characters) of a BIC: `AGRIFRPP` → `AGRI****`.
///
/// Anything shorter than a BIC (8 characters) is hidden whole: `****`.
pub fn mask_bic(bic: &str) -> String {
    let trimmed = bic.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    if trimmed.chars().count() < 8 {
        return "****".to_owned();
    }
    let mut masked: String = trimmed.chars().take(4).collect();
    masked.push_str("****");
    masked
}

/// Hides all but the last 2 characters of a social security number:
/// `184037512345678` → `*************78`.
///
/// Values shorter than 6 characters are hidden whole.
pub fn mask_numss(numss: &str) -> String {
    let chars: Vec<char> = numss.trim().chars().collect();
    let n = chars.len();
    if n < 6 {
        return "*".repeat(n);
    }
    let mut masked = "*".repeat(n - 2);
    masked.extend(&chars[n - 2..]);
    masked
}

/// Shows nothing of a secret but its length: `***(32 chars)`.
pub fn mask_secret(secret: &str) -> String {
    match secret.chars().count() {
        0 => String::new(),
        n => format!("***({n} chars)"),
    }
}

#[cfg(test)]
mod excerpt_tests {
    use super::*;

    #[test]
    fn remote_text_is_escaped_and_cut_to_two_hundred_characters() {
        assert_eq!(excerpt("plain"), "plain");
        assert_eq!(excerpt("a\nb\u{1b}[31m\0"), "a\\nb\\u{1b}[31m\\u{0}");
        let long = excerpt(&"é".repeat(500));
        assert_eq!(long.chars().count(), EXCERPT_MAX + 1);
        assert!(long.ends_with('…'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(mask: fn(&str) -> String, cases: &[(&str, &str)]) {
        for (input, expected) in cases {
            assert_eq!(mask(input), *expected, "{input:?}");
        }
    }

    #[test]
    fn ibans_show_country_check_digits_and_last_four() {
        check(
            mask_iban,
            &[
                ("FR7630006000011234567890189", "FR76…0189"),
                ("FR76 3000 6000 0112 3456 7890 189", "FR76…0189"),
                ("FR0012345678", "FR00…5678"),
                ("FR001234", "FR…"),
                ("FR00", "…"),
                ("F", "…"),
                ("", ""),
                ("ÉÉÉÉÉÉÉÉÉÉÉÉÉÉ", "ÉÉÉÉ…ÉÉÉÉ"),
            ],
        );
    }

    #[test]
    fn bics_show_only_the_bank_code() {
        check(
            mask_bic,
            &[
                ("AGRIFRPP", "AGRI****"),
                ("BNPAFRPPXXX", "BNPA****"),
                ("XYZ", "****"),
                ("ÀÉÎÕÜÀÉÎ", "ÀÉÎÕ****"),
                ("", ""),
            ],
        );
    }

    #[test]
    fn social_security_numbers_show_only_the_last_two_digits() {
        check(
            mask_numss,
            &[
                ("184037512345678", "*************78"),
                ("123456", "****56"),
                ("12345", "*****"),
                ("1", "*"),
                ("", ""),
                ("ééééé€€", "*****€€"),
            ],
        );
    }

    #[test]
    fn secrets_show_only_their_length() {
        check(
            mask_secret,
            &[
                ("0123456789abcdef0123456789abcdef", "***(32 chars)"),
                ("é", "***(1 chars)"),
                ("", ""),
            ],
        );
    }
}
