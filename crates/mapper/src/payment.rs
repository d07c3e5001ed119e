//! The checks of payment data, shared by the mapper (a bad value is a warning) and
//! client-core's gRPC handlers (a bad value is `INVALID_ARGUMENT`): one rule for an IBAN and
//! one for a BIC, wherever they come from. Errors carry the value masked, never in clear.

use iban::{Iban, ParseBaseIbanError, ParseIbanError};

use crate::mask::{mask_bic, mask_iban};

/// An IBAN that ISO 13616 refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{masked} {problem}")]
pub struct InvalidIban {
    /// The value, masked (`FR76…0188`).
    pub masked: String,
    /// What is wrong: `fails the mod-97 check`, `is not in IBAN format`, …
    pub problem: &'static str,
}

/// A BIC that is not 8 or 11 letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{masked} is not 8 or 11 letters or digits")]
pub struct InvalidBic {
    /// The value, masked (`AGRI****`).
    pub masked: String,
}

/// The IBAN compact (no whitespace nor NUL) and upper-case, when it passes ISO 13616: its
/// country's format and the mod-97 check.
pub fn parse_iban(raw: &str) -> Result<String, InvalidIban> {
    let compact: String = raw
        .chars()
        .filter(|&c| !c.is_whitespace() && c != '\0')
        .flat_map(char::to_uppercase)
        .collect();
    match compact.parse::<Iban>() {
        Ok(_) => Ok(compact),
        Err(error) => Err(InvalidIban {
            masked: mask_iban(&compact),
            problem: match error {
                ParseIbanError::InvalidBaseIban {
                    source: ParseBaseIbanError::InvalidChecksum,
                } => "fails the mod-97 check",
                ParseIbanError::InvalidBaseIban {
                    source: ParseBaseIbanError::InvalidFormat,
                } => "is not in IBAN format",
                ParseIbanError::InvalidBban(_) => "does not match its country's format",
                ParseIbanError::UnknownCountry(_) => "has an unknown country code",
            },
        }),
    }
}

/// The BIC trimmed, without NUL and upper-case, when it is 8 or 11 letters or digits.
pub fn parse_bic(raw: &str) -> Result<String, InvalidBic> {
    let bic = crate::values::clean(raw).to_uppercase();
    if matches!(bic.len(), 8 | 11) && bic.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(bic)
    } else {
        Err(InvalidBic {
            masked: mask_bic(&bic),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_are_compacted_upper_cased_and_checked_with_mod_97() {
        assert_eq!(
            parse_iban(" fr76 3000 6000 0112 3456 7890 189\u{0}").as_deref(),
            Ok("FR7630006000011234567890189")
        );
        let cases = [
            (
                "FR7630006000011234567890188",
                "FR76…0188 fails the mod-97 check",
            ),
            ("hello", "HE… is not in IBAN format"),
            (
                "ZZ7630006000011234567890189",
                "ZZ76…0189 fails the mod-97 check",
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                parse_iban(raw).map_err(|e| e.to_string()),
                Err(expected.to_owned())
            );
        }
    }

    #[test]
    fn bics_are_8_or_11_letters_or_digits_and_masked_when_not() {
        assert_eq!(parse_bic(" bnpafrpp ").as_deref(), Ok("BNPAFRPP"));
        assert_eq!(parse_bic("BNPAFRPPXXX").as_deref(), Ok("BNPAFRPPXXX"));
        for (raw, masked) in [
            ("BNPAFRP", "****"),
            ("BNPAFRPPXX", "BNPA****"),
            ("BNPA-RPP", "BNPA****"),
        ] {
            assert_eq!(
                parse_bic(raw).map_err(|e| e.to_string()),
                Err(format!("{masked} is not 8 or 11 letters or digits"))
            );
        }
    }
}
