//! Check digits of the identifiers the generator invents: French IBANs (ISO 13616 with the
//! ISO 7064 mod 97-10 check, and the French RIB key inside the BBAN) and social security
//! numbers (the NIR key). Tests use [`iban_passes_mod97`] to tell valid IBANs from broken ones.

/// True when `iban` (spaces allowed, any case) passes the ISO 13616 mod-97 check.
///
/// Only the check itself: the length and the country format are not verified.
pub fn iban_passes_mod97(iban: &str) -> bool {
    iban_mod97(iban) == Some(1)
}

/// The remainder mod 97 of the number an IBAN stands for: the first four characters moved to
/// the end, letters read as 10–35. `None` for fewer than five characters or a character that
/// is neither an ASCII digit nor an ASCII letter.
pub(crate) fn iban_mod97(iban: &str) -> Option<u32> {
    let compact: Vec<char> = iban.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() < 5 {
        return None;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder = 0u32;
    for c in tail.iter().chain(head) {
        if !c.is_ascii_alphanumeric() {
            return None;
        }
        let v = c.to_digit(36)?;
        remainder = if v < 10 {
            (remainder * 10 + v) % 97
        } else {
            (remainder * 100 + v) % 97
        };
    }
    Some(remainder)
}

/// A valid French IBAN (`FRkk` + 23 characters) for a bank code, a branch code and an
/// 11-digit account number: the RIB key and the IBAN check digits are computed.
pub(crate) fn french_iban(bank: u32, branch: u32, account: u64) -> String {
    let bank = bank % 100_000;
    let branch = branch % 100_000;
    let account = account % 100_000_000_000;
    let rib = 97 - (89 * u64::from(bank) + 15 * u64::from(branch) + 3 * account) % 97;
    let bban = format!("{bank:05}{branch:05}{account:011}{rib:02}");
    let check = 98 - iban_mod97(&format!("FR00{bban}")).unwrap_or(0);
    format!("FR{check:02}{bban}")
}

/// The same IBAN with one digit of its RIB key changed: a single-digit change always breaks
/// the mod-97 check.
pub(crate) fn break_iban(iban: &str) -> String {
    let mut chars: Vec<char> = iban.chars().collect();
    if let Some(last) = chars.last_mut() {
        let digit = last.to_digit(10).unwrap_or(0);
        *last = char::from_digit((digit + 1) % 10, 10).unwrap_or('0');
    }
    chars.into_iter().collect()
}

/// A French social security number (NIR, 15 digits): sex (1 or 2), year, month, birth
/// department (`99` abroad), commune (or country) code, birth order number, then the key
/// `97 - (first 13 digits mod 97)`.
pub(crate) fn nir(
    sex: u8,
    year: u32,
    month: u32,
    department: &str,
    commune: u32,
    order: u32,
) -> String {
    let body = format!(
        "{sex}{:02}{month:02}{department:0>2}{:03}{:03}",
        year % 100,
        commune % 1000,
        order % 1000
    );
    let number: u64 = body.parse().unwrap_or(0);
    format!("{body}{:02}", 97 - number % 97)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ibans_are_checked_as_banks_do() {
        let cases = [
            ("FR7630006000011234567890189", true),
            ("FR76 3000 6000 0112 3456 7890 189", true),
            ("fr7630006000011234567890189", true),
            ("FR7630006000011234567890188", false),
            ("GB82WEST12345698765432", true),
            ("FR76", false),
            ("FR76-3000-6000", false),
        ];
        for (iban, expected) in cases {
            assert_eq!(iban_passes_mod97(iban), expected, "{iban}");
        }
    }

    #[test]
    fn a_built_french_iban_is_valid_and_its_rib_key_too() {
        assert_eq!(
            french_iban(30006, 1, 12_345_678_901),
            "FR7630006000011234567890189"
        );
        for (bank, branch, account) in [(30004, 829, 10_000_001), (20041, 10005, 99_999_999_999)] {
            let iban = french_iban(bank, branch, account);
            assert_eq!(iban.len(), 27, "{iban}");
            assert!(iban_passes_mod97(&iban), "{iban}");
            // The RIB key makes bank + branch + account + key divisible by 97.
            let bban: u128 = iban[4..].parse().unwrap();
            let rib_whole = bban / 100 * 100 + bban % 100;
            let rib_check = (89 * (bban / 10u128.pow(18))
                + 15 * (bban / 10u128.pow(13) % 100_000)
                + 3 * (rib_whole / 100 % 10u128.pow(11))
                + bban % 100)
                % 97;
            assert_eq!(rib_check, 0, "{iban}");
            assert!(!iban_passes_mod97(&break_iban(&iban)));
        }
    }

    #[test]
    fn a_nir_carries_its_key() {
        // 1 85 05 78 006 084, key 91 (the INSEE example).
        assert_eq!(nir(1, 1985, 5, "78", 6, 84), "185057800608491");
    }
}
