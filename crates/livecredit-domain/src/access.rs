//! The subject's access code: the secret served with the notice that lets the
//! listed party sign in to the portal (CONTRACT §6.5). At least 80 random bits,
//! written as 20 characters of Crockford's base 32 (100 bits) in groups of four
//! so that it can be read aloud and typed from paper; stored only as a hash.

/// Random bytes an access code is made from (13 bytes: 104 bits, 100 of them used).
pub const ACCESS_CODE_BYTES: usize = 13;
/// Characters of a code, without the group separators.
pub const ACCESS_CODE_CHARS: usize = 20;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Writes random bytes as a code: `XXXX-XXXX-XXXX-XXXX-XXXX`.
pub fn access_code_from(bytes: [u8; ACCESS_CODE_BYTES]) -> String {
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(b);
    }
    let mut code = String::with_capacity(ACCESS_CODE_CHARS + 4);
    for i in 0..ACCESS_CODE_CHARS {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        let shift = 5 * (ACCESS_CODE_CHARS - 1 - i);
        code.push(char::from(ALPHABET[((bits >> shift) & 0x1f) as usize]));
    }
    code
}

/// The code as typed, reduced to its 20 characters: separators and spaces dropped, upper case,
/// and the letters Crockford's alphabet leaves out read as the digits they look like (O → 0,
/// I and L → 1). `None` when what remains is not a code.
pub fn normalize_access_code(raw: &str) -> Option<String> {
    let mut code = String::with_capacity(ACCESS_CODE_CHARS);
    for c in raw.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        code.push(c);
    }
    (code.chars().count() == ACCESS_CODE_CHARS).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_twenty_characters_in_groups_and_read_back() {
        let code = access_code_from([0xff; ACCESS_CODE_BYTES]);
        assert_eq!(code, "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ");
        let code = access_code_from([0; ACCESS_CODE_BYTES]);
        assert_eq!(code, "0000-0000-0000-0000-0000");
        let code = access_code_from([7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(code.len(), 24);
        let plain = normalize_access_code(&code).unwrap();
        assert_eq!(plain.len(), ACCESS_CODE_CHARS);
        assert_eq!(
            normalize_access_code(&code.to_lowercase()),
            Some(plain.clone())
        );
        assert_eq!(normalize_access_code(&code.replace('-', " ")), Some(plain));
    }

    #[test]
    fn look_alike_letters_are_read_as_digits_and_junk_is_refused() {
        assert_eq!(
            normalize_access_code("oooo-iiii-llll-0000-1111"),
            Some("00001111111100001111".into())
        );
        assert_eq!(normalize_access_code("short"), None);
        assert_eq!(normalize_access_code("UUUU-0000-0000-0000-0000"), None);
        assert_eq!(normalize_access_code("０000-0000-0000-0000-0000"), None);
    }

    #[test]
    fn distinct_bytes_give_distinct_codes() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..=255u8 {
            let mut bytes = [0u8; ACCESS_CODE_BYTES];
            bytes[ACCESS_CODE_BYTES - 1] = i;
            bytes[3] = i.wrapping_mul(7);
            assert!(seen.insert(access_code_from(bytes)));
        }
    }
}
