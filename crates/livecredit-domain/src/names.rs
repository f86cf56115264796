//! Name normalisation for screening: turns a person's or shop's name into
//! comparable keys so that `张伟`, `張偉`, `Zhang Wei`, `zhangwei`, `ZHANG  WEI`,
//! `zhāng wěi`, `zhang1 wei3` and `Ｚｈａｎｇ　Ｗｅｉ` all meet, and so that
//! the usual evasions (`张\u{200B}伟`, `张🔥伟`, `张.伟`, `张-伟`) are caught.
//!
//! Pure functions, no I/O. The tables that are built lazily (the pinyin
//! syllable inventory, fast2s's map) are built once per process.
//!
//! # Pipeline
//!
//! 1. **Clean** ([`strip_noise`]): NFKC (full-width → ASCII, `Ⓩ`/`𝐙` → `Z`,
//!    compatibility ideographs and Kangxi radicals → unified ideographs), drop
//!    default-ignorable code points (zero-width chars, bidi controls,
//!    variation selectors, Hangul fillers, tags), drop everything that is not
//!    a letter or a digit (whitespace, punctuation, symbols, emoji), strip the
//!    diacritics of Latin letters (`zhāng` → `zhang`; the pinyin key keeps
//!    `ü` as `v`), drop combining marks after Han characters, keep them after
//!    other scripts' letters (Devanagari, Thai…), keep kana and Hangul intact.
//! 2. **text** key: cleaned, look-alike letters of other scripts folded onto
//!    the letters they look like (see below), lower-cased, traditional →
//!    simplified (`fast2s`).
//! 3. **pinyin** keys: each Han character becomes its toneless reading
//!    (`pinyin` crate, primary reading); the characters of the `POLYPHONES`
//!    table
//!    (surnames such as `单` shan, `曾` zeng, `解` xie, and given-name
//!    polyphones such as `长` chang/zhang) get each of their modern readings,
//!    and for the first character the surname reading is put first (compound
//!    `万俟` moqi, `尉迟` yuchi, `单于` chanyu). Latin text is kept (tone
//!    marks, tone digits, spaces removed; `ü`/`u:`/`v` → `v`). Every
//!    combination of readings is produced, the most usual first (smallest sum
//!    of reading ranks), capped at [`MAX_PINYIN_VARIANTS`]. A Latin name of
//!    2–3 words that all read as pinyin also gets its last word moved to the
//!    front (`Jiaqi Li` → `lijiaqi` as well as `jiaqili`), since Chinese names
//!    are often written given name first in Latin.
//! 4. **initials** keys: first letter of every syllable of each pinyin key
//!    (`张伟` → `zw`), see [`NameKeys::initials`].
//!
//! # Similarity and the threshold
//!
//! Plain Jaro–Winkler on whole strings rewards long common prefixes, so it
//! calls different short Chinese names the same (numbers measured with
//! `strsim::jaro_winkler` on the pinyin keys):
//!
//! | pair | JW | [`similarity`] |
//! |---|---|---|
//! | 张伟 / 张卫东 (`zhangwei`/`zhangweidong`) | 0.933 | 0.667 |
//! | 张伟 / 章维达 (`zhangwei`/`zhangweida`) | 0.960 | 0.667 |
//! | 李娜 / 李娜娜 (`lina`/`linana`) | 0.943 | 0.667 |
//! | 王芳 / 王帆 (`wangfang`/`wangfan`) | 0.975 | 0.500 |
//! | 刘德华 / 刘德 (`liudehua`/`liude`) | 0.925 | 0.667 |
//! | 张伟 / 李伟 (`zhangwei`/`liwei`) | 0.658 | 0.500 |
//! | 欧阳娜娜 / 欧阳娜 | 0.964 | 0.750 |
//! | `Wang Xiaoming` / `Wang Xiaomin` | 0.983 | 0.667 |
//! | 张伟 / `Zhang Wei Store` | 0.923 | 0.615 |
//! | `Li Jiaqi` / `Li Jiaqj` (typo) | 0.943 | 0.857 |
//! | `Wang Xiaoming` / `Wang Xiaomnig` (typo) | 0.983 | 0.917 |
//! | `Happy Store` / `Happy Stroe` (typo) | 0.980 | 0.900 |
//! | 杭州美丽服装有限公司 / 杭州美丽服饰有限公司 | 0.916 | 0.900 |
//!
//! So [`similarity`] compares **syllables**, not letters: both strings are cut
//! into units (pinyin syllables by a fewest-syllables segmentation over the
//! inventory of all readings in the `pinyin` data; Han characters without a
//! reading, digit runs and other scripts' letters as single units) and the
//! score is `1 − unit_levenshtein / max(units)`. One different syllable in a
//! 2–3 syllable name gives 0.50–0.67; a name needs ≥ 7 syllables before one
//! differing syllable reaches [`MATCH_THRESHOLD`]. When a string contains
//! Latin letters that are *not* pinyin (a typo such as `jiaqj`, or an English
//! shop name) the score falls back to letter-level normalised
//! Damerau–Levenshtein on the whole strings (`1 − d / max(len)`), so one typo
//! in a name of ≥ 7 letters still matches. The result is the maximum over
//! text vs text and every pinyin variant pair; equal text or any shared pinyin
//! key is 1.0.
//!
//! **Homophones match by design**: `王芳` and `汪方` are both `wangfang`, and a
//! Latin spelling cannot tell them apart; screening shows such hits for human
//! review. Likewise a polyphonic character matches any of its readings, and
//! a two-word Latin pinyin name matches in either order (`Zhang Wei` is also
//! `魏章`).
//!
//! # Look-alike letters
//!
//! A letter of another script that looks like a Latin letter (Cyrillic `о`
//! in `Zh\u{43e}o`, Greek `ο`, Cherokee `Ꭺ`, Latin `ɑ`…) is folded onto that
//! letter in the keys, by its Unicode TR39 confusable prototype
//! (`unicode-security`'s skeleton), so `Zh\u{43e}o Qingping` and
//! `Zhao Qingping` are one name. A non-Han letter whose prototype is a Han
//! character (katakana `ロ` → `口`, `ニ` → `二`) is folded onto it. See
//! `fold_lookalike` for where the folding stops, and why.
//!
//! Not handled: dialect spellings (Wade–Giles `Chang`, Cantonese `Lau`), zh/z-type accent
//! merges, and `Lu` for `吕` (`lü` → `lv`; passports' `LYU` is not mapped).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use pinyin::{ToPinyin, ToPinyinMulti};
use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

/// Scores at or above this are a match (see the module docs for the tuning).
pub const MATCH_THRESHOLD: f64 = 0.85;

/// At most this many pinyin keys per name.
pub const MAX_PINYIN_VARIANTS: usize = 16;

/// Only this many polyphonic characters (from the start) vary their reading;
/// later ones keep their most common reading.
const MAX_VARYING_POLYPHONES: usize = 16;

/// Cleaned characters beyond this are ignored: no name is that long, and it
/// bounds the cost of the quadratic comparisons.
pub const MAX_NAME_CHARS: usize = 256;

/// The version of [`name_keys`]: raise it whenever a name's keys change, so
/// that the keys stored by an older version are computed again at start.
/// 2: look-alike letters of other scripts are folded (see the module docs).
pub const NAME_KEYS_VERSION: i32 = 2;

/// Canonical keys of one name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NameKeys {
    /// NFKC, lower-cased, traditional → simplified, noise stripped: the
    /// Han/Latin text itself (`张伟`; `zhangwei` for `Zhang Wei`). Latin
    /// diacritics are removed, digits kept.
    pub text: String,
    /// Toneless pinyin without spaces, one entry per combination of readings
    /// of the polyphonic characters in the module's `POLYPHONES` table
    /// (surname reading of the first character included), at most
    /// [`MAX_PINYIN_VARIANTS`]. For Latin input the normalised spelling (tone
    /// marks and digits removed, `ü` → `v`), plus the turned-around order for
    /// a 2–3 word pinyin name. Sorted, unique.
    /// This is the exact-match blocking key: index it and look each up.
    pub pinyin: Vec<String>,
    /// Coarse blocking key: the first letter of each syllable of each
    /// [`Self::pinyin`] key (`张伟` → `zw`, `李佳琦` → `ljq`, `Zhang Wei` →
    /// `zw`). Both Han and Latin input are cut into syllables by the same
    /// segmentation, so a name and its romanisation share the key. Letters
    /// that are not pinyin each count as a syllable. It retrieves names with
    /// the same syllable structure for ranking by [`similarity`] (e.g. to
    /// show near misses below the threshold); sorted, unique.
    pub initials: Vec<String>,
}

/// The distinct pairs of adjacent characters of a text key: a search for
/// text within names looks up its rarest pair, then checks the whole text.
pub fn pairs(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pairs: Vec<String> = chars.windows(2).map(|w| w.iter().collect()).collect();
    pairs.sort();
    pairs.dedup();
    pairs
}

/// The text key of one name alone ([`NameKeys::text`]): cheaper than
/// [`name_keys`], which also works out every pinyin reading.
pub fn text_key(raw: &str) -> String {
    fast2s::convert(&clean_words(raw, true, false).concat())
}

/// The pinyin keys of one name alone ([`NameKeys::pinyin`]).
pub fn pinyin_keys(raw: &str) -> Vec<String> {
    let words: Vec<String> = clean_words(raw, true, true)
        .iter()
        .map(|w| strip_tone_digits(w))
        .filter(|w| !w.is_empty())
        .collect();
    let joined = fast2s::convert(&words.concat());

    let mut pinyin = reading_variants(&joined);
    if let Some(turned) = turned_around(&words) {
        pinyin.push(turned);
    }
    pinyin.sort();
    pinyin.dedup();
    pinyin
}

/// Computes the keys of one name. Cheap (a few µs); never panics.
pub fn name_keys(raw: &str) -> NameKeys {
    let text = text_key(raw);
    let pinyin = pinyin_keys(raw);

    let mut initials: Vec<String> = pinyin
        .iter()
        .map(|p| {
            units(p)
                .parts
                .iter()
                .filter_map(|u| u.chars().next())
                .collect()
        })
        .collect();
    initials.sort();
    initials.dedup();

    NameKeys {
        text,
        pinyin,
        initials,
    }
}

/// Strips what evaders insert: zero-width and other default-ignorable code
/// points, variation selectors, emoji and other symbols, punctuation,
/// whitespace, Latin diacritics (`zhāng` → `zhang`) and combining marks on
/// Han characters, after NFKC. Letters of every script (Han, Latin, kana,
/// Hangul, Cyrillic…) and digits are kept; case is kept.
pub fn strip_noise(raw: &str) -> String {
    clean_words(raw, false, false).concat()
}

/// True when two names are the same for screening: equal non-empty text, or
/// a pinyin key in common.
pub fn same_name(a: &NameKeys, b: &NameKeys) -> bool {
    (!a.text.is_empty() && a.text == b.text) || sorted_intersect(&a.pinyin, &b.pinyin)
}

/// Similarity in `0.0..=1.0` between two names' keys (see the module docs):
/// 1.0 for [`same_name`], else the best syllable-level (or, for non-pinyin
/// Latin, letter-level) score over text vs text and every pair of pinyin
/// keys. Symmetric. An empty name is similar to nothing (0.0).
pub fn similarity(a: &NameKeys, b: &NameKeys) -> f64 {
    if same_name(a, b) {
        return 1.0;
    }
    let mut best = 0.0_f64;
    if !a.text.is_empty() && !b.text.is_empty() {
        best = unit_similarity(&a.text, &units(&a.text), &b.text, &units(&b.text));
    }
    let ua: Vec<Units<'_>> = a.pinyin.iter().map(|p| units(p)).collect();
    let ub: Vec<Units<'_>> = b.pinyin.iter().map(|p| units(p)).collect();
    for (pa, ua) in a.pinyin.iter().zip(&ua) {
        for (pb, ub) in b.pinyin.iter().zip(&ub) {
            best = best.max(unit_similarity(pa, ua, pb, ub));
        }
    }
    best.clamp(0.0, 1.0)
}

/// At most this many near spellings per name ([`near_spellings`]).
pub const MAX_NEAR_SPELLINGS: usize = 64;

/// Pinyin spellings one slip away from a Latin name that does not read as
/// pinyin: for each pinyin key with letters that fit no syllable, the keys
/// one edit away (a letter replaced, dropped, added, or two swapped) that
/// read as pinyin throughout. Screening looks them up as exact keys to find
/// the candidates that [`similarity`] then scores: a typo, or a look-alike
/// letter that stands for another letter than the one it looks like
/// (`Zh\u{43e}o`, Cyrillic о, folds to `zhoo`), changes the syllables and so
/// the initials, and would otherwise find nothing to compare with.
///
/// Only keys of 4–32 letters `a-z`, and only when their stray letters lie
/// within one syllable's length of each other (one edit cannot mend
/// letters further apart: an English shop name gets none), with the edits
/// near them. At most [`MAX_NEAR_SPELLINGS`], replacements and swaps first.
pub fn near_spellings(keys: &NameKeys) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in &keys.pinyin {
        let bytes = key.as_bytes();
        if !(4..=32).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_lowercase) {
            continue;
        }
        let u = units(key);
        if !u.stray {
            continue;
        }
        let set = syllables();
        let strays: Vec<usize> = u
            .parts
            .iter()
            .filter(|p| p.len() == 1 && !set.contains(p))
            .map(|p| p.as_ptr() as usize - key.as_ptr() as usize)
            .collect();
        let (Some(&first), Some(&last)) = (strays.first(), strays.last()) else {
            continue;
        };
        if last - first >= MAX_SYLLABLE_LEN {
            continue;
        }
        let from = first.saturating_sub(MAX_SYLLABLE_LEN);
        let to = (last + MAX_SYLLABLE_LEN).min(bytes.len());
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for i in from..to {
            for c in b'a'..=b'z' {
                if c != bytes[i] {
                    let mut v = bytes.to_vec();
                    v[i] = c;
                    variants.push(v);
                }
            }
            if i + 1 < bytes.len() && bytes[i] != bytes[i + 1] {
                let mut v = bytes.to_vec();
                v.swap(i, i + 1);
                variants.push(v);
            }
        }
        for i in from..to {
            let mut v = bytes.to_vec();
            v.remove(i);
            variants.push(v);
        }
        for i in from..=to {
            for c in b'a'..=b'z' {
                let mut v = bytes.to_vec();
                v.insert(i, c);
                variants.push(v);
            }
        }
        for v in variants {
            if out.len() >= MAX_NEAR_SPELLINGS {
                return out;
            }
            if reads_as_pinyin(&v) {
                if let Ok(v) = String::from_utf8(v) {
                    if !out.contains(&v) && !keys.pinyin.contains(&v) {
                        out.push(v);
                    }
                }
            }
        }
    }
    out
}

/// Whether letters `a-z` cut into pinyin syllables with none left over.
fn reads_as_pinyin(letters: &[u8]) -> bool {
    let set = syllables();
    let n = letters.len();
    if n == 0 || n > 64 {
        return false;
    }
    // Bit i: letters[i..] cuts into syllables.
    let mut from_here: u128 = 1 << n;
    for i in (0..n).rev() {
        for l in 1..=MAX_SYLLABLE_LEN.min(n - i) {
            if from_here & (1 << (i + l)) != 0 {
                let piece = std::str::from_utf8(&letters[i..i + l]).unwrap_or_default();
                if set.contains(piece) {
                    from_here |= 1 << i;
                    break;
                }
            }
        }
    }
    from_here & 1 != 0
}

// ---------------------------------------------------------------------------
// Cleaning

/// Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) plus the
/// Hangul fillers and the Braille blank, which render as nothing.
fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// CJK unified ideographs (all extensions), compatibility ideographs, `〇`.
fn is_han(c: char) -> bool {
    matches!(
        c,
        '\u{3007}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{20000}'..='\u{323AF}'
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// Start, or after noise / a digit / a Han character: marks are dropped.
    NoMarks,
    /// After a Latin letter written as its ASCII base.
    Latin,
    /// After a letter of another script: its combining marks are kept.
    Other,
}

struct Cleaner {
    lower: bool,
    umlaut_v: bool,
    /// Fold look-alike letters (keys only: [`strip_noise`] keeps letters).
    fold: bool,
    words: Vec<String>,
    cur: String,
    prev: Prev,
    /// Characters kept so far.
    kept: usize,
}

impl Cleaner {
    fn put(&mut self, c: char) {
        self.cur.push(c);
        self.kept += 1;
    }

    fn end_word(&mut self) {
        if !self.cur.is_empty() {
            self.words.push(std::mem::take(&mut self.cur));
        }
        self.prev = Prev::NoMarks;
    }

    /// Turns a trailing `u` into `v` (for `ü` / `u:`).
    fn umlaut_last(&mut self) {
        if self.prev == Prev::Latin && (self.cur.ends_with('u') || self.cur.ends_with('U')) {
            let upper = self.cur.ends_with('U');
            self.cur.pop();
            self.cur.push(if upper { 'V' } else { 'v' });
        }
    }

    /// Takes one character of the NFKC text: a look-alike letter as the
    /// letter it looks like (with its combining marks), else the character
    /// itself, lower-cased for keys.
    fn feed(&mut self, c: char) {
        if self.fold {
            if let Some(letter) = fold_lookalike(c) {
                let mut marks = Vec::new();
                decompose_canonical(c, |d| marks.push(d));
                self.push(if self.lower {
                    letter.to_ascii_lowercase()
                } else {
                    letter
                });
                for &mark in marks.iter().skip(1) {
                    self.push(mark);
                }
                return;
            }
        }
        if self.lower {
            for l in c.to_lowercase() {
                self.push(l);
            }
        } else {
            self.push(c);
        }
    }

    fn push(&mut self, c: char) {
        if is_ignorable(c) {
            return;
        }
        if is_combining_mark(c) {
            match self.prev {
                Prev::Latin if self.umlaut_v && c == '\u{0308}' => self.umlaut_last(),
                Prev::Other if !matches!(c, '\u{20D0}'..='\u{20FF}') => self.put(c),
                _ => {}
            }
            return;
        }
        if c == ':' && self.umlaut_v && self.prev == Prev::Latin {
            // `u:` is a way to type `ü`; the colon is dropped either way.
            self.umlaut_last();
            return;
        }
        if is_han(c) {
            self.put(c);
            self.prev = Prev::NoMarks;
        } else if c.is_alphabetic() || c.is_numeric() {
            let mut base = None;
            let mut diaeresis = false;
            decompose_canonical(c, |d| {
                if base.is_none() {
                    base = Some(d);
                } else if d == '\u{0308}' {
                    diaeresis = true;
                }
            });
            match base {
                Some(b) if b.is_ascii_alphabetic() => {
                    self.put(b);
                    self.prev = Prev::Latin;
                    if diaeresis && self.umlaut_v {
                        self.umlaut_last();
                    }
                }
                _ => {
                    self.put(c);
                    self.prev = if c.is_alphabetic() {
                        Prev::Other
                    } else {
                        Prev::NoMarks
                    };
                }
            }
        } else {
            // whitespace, punctuation, symbols, emoji, controls, private use
            self.end_word();
        }
    }
}

/// The letter a look-alike letter is folded onto in the keys: the TR39
/// confusable prototype of its base letter (the letter without its
/// combining marks, which the caller keeps), when that prototype is one
/// ASCII letter or one Han character.
///
/// Only letters that are neither ASCII nor Han are folded, and only onto a
/// single character:
/// - ASCII is left alone because the skeletons map Latin letters and digits
///   onto each other (`m` → `rn`, `I` and `1` → `l`, `0` → `O`): folding
///   them would merge distinct pinyin and turn tone digits (`zhang1`) into
///   letters.
/// - Han characters are left alone because the skeletons map some onto
///   others and onto Latin (`〇` → `O`): folding them could merge distinct
///   Han names and would change their readings.
/// - Latin letters with tone marks are not folded: their base is ASCII
///   (`ǎ` → `a` + caron), and the cleaner strips the marks as before, so
///   pinyin tones and `ü` → `v` work exactly as they did.
/// - A prototype of several characters (`æ` → `ae`, Hangul syllables) or of
///   another script (Cyrillic `в` → `ʙ`) is not used: those are letters of
///   their own, not look-alikes of one Latin letter.
///
/// Keys ignore case, so both cases of a letter must fold alike: a letter
/// folds as its capital does when the capital looks like a Latin letter
/// (Cyrillic `В` like `B`, so `в` folds to `b` too, and `ИВАН` stays
/// `иван`), else as its small letter does (`ѕ` like `s`). The prototype of
/// a capital that looks like `I` is `l` (`I`, `l` and `1` are one class);
/// such a capital stands for `I`. The price: a small letter whose capital
/// looks like another letter is taken for that one (Greek `ν`, like `v`,
/// folds to `n` as `Ν` does).
///
/// Whole-script names (a Russian name in Cyrillic) get their look-alike
/// letters folded too; both sides of a comparison are folded alike, so two
/// such names still meet exactly when they look alike.
fn fold_lookalike(c: char) -> Option<char> {
    if c.is_ascii() || is_han(c) || !c.is_alphabetic() {
        return None;
    }
    let mut base = None;
    let mut marks_only = true;
    decompose_canonical(c, |d| {
        if base.is_none() {
            base = Some(d);
        } else {
            marks_only &= is_combining_mark(d);
        }
    });
    let base = base.filter(|b| marks_only && !b.is_ascii())?;
    let capital = one(base.to_uppercase()).unwrap_or(base);
    let small = one(base.to_lowercase()).unwrap_or(base);
    if let Some(p) = prototype(capital) {
        return Some(if p == 'l' && capital.is_uppercase() {
            'I'
        } else {
            p
        });
    }
    prototype(small)
}

/// The only character of a case mapping, if it is one.
fn one(mut mapped: impl Iterator<Item = char>) -> Option<char> {
    let c = mapped.next()?;
    mapped.next().is_none().then_some(c)
}

/// The TR39 confusable prototype of one letter, when it is one ASCII letter
/// or one Han character (see [`fold_lookalike`]).
fn prototype(c: char) -> Option<char> {
    if c.is_ascii() || is_han(c) {
        return None;
    }
    let mut buf = [0u8; 4];
    let mut prototype = skeleton(c.encode_utf8(&mut buf));
    let first = prototype.next()?;
    if prototype.next().is_some() || !(first.is_ascii_alphabetic() || is_han(first)) {
        return None;
    }
    Some(first)
}

/// NFKC, noise removal, optionally `ü`/`u:` → `v`; for keys also
/// lower-casing and the folding of look-alike letters ([`fold_lookalike`]),
/// which [`strip_noise`] does not do. Returns the words that the removed
/// noise separated (never empty strings).
fn clean_words(raw: &str, keys: bool, umlaut_v: bool) -> Vec<String> {
    let mut cl = Cleaner {
        lower: keys,
        umlaut_v,
        fold: keys,
        words: Vec::new(),
        cur: String::with_capacity(raw.len()),
        prev: Prev::NoMarks,
        kept: 0,
    };
    for c in raw.nfkc() {
        if cl.kept >= MAX_NAME_CHARS {
            break;
        }
        cl.feed(c);
    }
    cl.end_word();
    cl.words
}

/// Removes pinyin tone digits (`zhang1wei3` → `zhangwei`): a digit 0–5 right
/// after a letter that can end a syllable, not part of a longer number.
fn strip_tone_digits(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    for (i, &c) in chars.iter().enumerate() {
        let is_tone = ('0'..='5').contains(&c)
            && i > 0
            && matches!(
                chars[i - 1],
                'a' | 'e' | 'i' | 'o' | 'u' | 'v' | 'n' | 'g' | 'r'
            )
            && !chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if !is_tone {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Readings

/// Characters whose readings in names really vary, with the readings to
/// consider (toneless, `ü` as `v`), the usual one in names first.
///
/// Every other character gets only its primary reading from the `pinyin`
/// crate. The crate's heteronym lists come from historical dictionaries and
/// carry archaic readings (王 yu, 沈 chen/tan, 方 wang/feng, 冯 ping, 达
/// ta/ti) that would make 沈伟 an exact match for `Chen Wei`; this table only
/// *selects* among the crate's readings (a test checks that each one is
/// there).
const POLYPHONES: &[(char, &[&str])] = &[
    // surnames read unlike their common reading
    ('单', &["dan", "shan", "chan"]),
    ('曾', &["zeng", "ceng"]),
    ('解', &["jie", "xie"]),
    ('仇', &["chou", "qiu"]),
    ('区', &["qu", "ou"]),
    ('朴', &["pu", "piao", "po"]),
    ('查', &["cha", "zha"]),
    ('盖', &["gai", "ge"]),
    ('乐', &["le", "yue"]),
    ('尉', &["wei", "yu"]),
    ('缪', &["miao", "mou", "miu"]),
    ('覃', &["qin", "tan"]),
    ('翟', &["zhai", "di"]),
    ('万', &["wan", "mo"]),
    ('俟', &["si", "qi"]),
    ('贾', &["jia", "gu"]),
    ('召', &["zhao", "shao"]),
    ('秘', &["mi", "bi"]),
    ('繁', &["fan", "po"]),
    ('句', &["ju", "gou"]),
    ('种', &["zhong", "chong"]),
    ('盛', &["sheng", "cheng"]),
    ('叶', &["ye", "xie"]),
    ('祭', &["ji", "zhai"]),
    ('卜', &["bu", "bo"]),
    ('炅', &["jiong", "gui"]),
    ('颉', &["jie", "xie"]),
    ('殷', &["yin", "yan"]),
    ('车', &["che", "ju"]),
    ('那', &["na", "nuo"]),
    ('番', &["fan", "pan"]),
    ('莘', &["shen", "xin"]),
    ('宿', &["su", "xiu"]),
    // given names and shop names
    ('长', &["chang", "zhang"]),
    ('行', &["xing", "hang"]),
    ('重', &["zhong", "chong"]),
    ('朝', &["chao", "zhao"]),
    ('传', &["chuan", "zhuan"]),
    ('强', &["qiang", "jiang"]),
    ('藏', &["cang", "zang"]),
    ('调', &["diao", "tiao"]),
    ('都', &["du", "dou"]),
    ('率', &["shuai", "lv"]),
    ('石', &["shi", "dan"]),
    ('省', &["sheng", "xing"]),
    ('员', &["yuan", "yun"]),
    ('会', &["hui", "kuai"]),
    ('厦', &["sha", "xia"]),
    ('参', &["can", "shen", "cen"]),
    ('茜', &["qian", "xi"]),
    ('晟', &["sheng", "cheng"]),
    ('蔚', &["wei", "yu"]),
    ('阿', &["a", "e"]),
    ('薄', &["bo", "bao"]),
    ('隽', &["juan", "jun"]),
    ('奇', &["qi", "ji"]),
    ('和', &["he", "huo"]),
    ('觉', &["jue", "jiao"]),
    ('角', &["jiao", "jue"]),
    ('露', &["lu", "lou"]),
    ('屏', &["ping", "bing"]),
    ('校', &["xiao", "jiao"]),
    ('仔', &["zi", "zai"]),
    ('期', &["qi", "ji"]),
    ('南', &["nan", "na"]),
    ('伽', &["jia", "qie", "ga"]),
    ('柏', &["bai", "bo"]),
    ('蕃', &["fan", "bo"]),
    ('扎', &["zha", "za"]),
    ('娜', &["na", "nuo"]),
    ('弄', &["nong", "long"]),
    ('便', &["bian", "pian"]),
    ('折', &["zhe", "she"]),
    ('大', &["da", "dai"]),
    ('术', &["shu", "zhu"]),
    ('禅', &["chan", "shan"]),
    ('佛', &["fo", "fu"]),
    ('绿', &["lv", "lu"]),
    ('靓', &["liang", "jing"]),
    ('乾', &["qian", "gan"]),
    ('莎', &["sha", "suo"]),
    ('谷', &["gu", "yu"]),
    ('粘', &["nian", "zhan"]),
    ('莞', &["guan", "wan"]),
];

/// Surname readings put first for the first character of a name.
const SURNAME_READINGS: &[(char, &str)] = &[
    ('单', "shan"),
    ('曾', "zeng"),
    ('解', "xie"),
    ('仇', "qiu"),
    ('区', "ou"),
    ('朴', "piao"),
    ('查', "zha"),
    ('盖', "ge"),
    ('乐', "yue"),
    ('尉', "yu"),
    ('缪', "miao"),
    ('覃', "qin"),
    ('翟', "zhai"),
];

/// Compound surnames read differently from their characters' first readings.
const COMPOUND_SURNAMES: &[([char; 2], [&str; 2])] = &[
    (['万', '俟'], ["mo", "qi"]),
    (['尉', '迟'], ["yu", "chi"]),
    (['单', '于'], ["chan", "yu"]),
];

/// `lü` → `lv`, `ê` → `e`.
fn normalise_reading(p: &'static str) -> Cow<'static, str> {
    if p.is_ascii() {
        Cow::Borrowed(p)
    } else {
        Cow::Owned(
            p.chars()
                .map(|c| match c {
                    'ü' => 'v',
                    'ê' => 'e',
                    c => c,
                })
                .collect(),
        )
    }
}

fn polyphones() -> &'static HashMap<char, &'static [&'static str]> {
    static MAP: OnceLock<HashMap<char, &'static [&'static str]>> = OnceLock::new();
    MAP.get_or_init(|| POLYPHONES.iter().copied().collect())
}

/// Toneless readings of a Han character, the usual one first: the
/// `POLYPHONES` entry, else the `pinyin` crate's primary reading.
fn readings(c: char) -> Option<Vec<Cow<'static, str>>> {
    if let Some(rs) = polyphones().get(&c) {
        return Some(rs.iter().map(|r| Cow::Borrowed(*r)).collect());
    }
    let r = normalise_reading(c.to_pinyin()?.plain());
    (!r.is_empty()).then(|| vec![r])
}

fn put_first(options: &mut Vec<Cow<'static, str>>, reading: &'static str) {
    options.retain(|r| r != reading);
    options.insert(0, Cow::Borrowed(reading));
}

/// All reading combinations of a cleaned, simplified, lower-case string.
fn reading_variants(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut pieces: Vec<Vec<Cow<'static, str>>> = Vec::with_capacity(chars.len());
    let mut varying = 0usize;
    for (i, &c) in chars.iter().enumerate() {
        let Some(mut options) = (if is_han(c) { readings(c) } else { None }) else {
            pieces.push(vec![Cow::Owned(c.to_string())]);
            continue;
        };
        if i == 0 {
            if let Some((_, r)) = SURNAME_READINGS.iter().find(|(s, _)| *s == c) {
                put_first(&mut options, r);
            }
        }
        if i < 2 {
            for (pair, rs) in COMPOUND_SURNAMES {
                if chars.len() >= 2 && chars[0] == pair[0] && chars[1] == pair[1] {
                    put_first(&mut options, rs[i]);
                }
            }
        }
        if options.len() > 1 {
            if varying >= MAX_VARYING_POLYPHONES {
                options.truncate(1);
            }
            varying += 1;
        }
        pieces.push(options);
    }

    // Merge runs of fixed pieces so the enumeration's depth is bounded by
    // the number of varying characters.
    let mut merged: Vec<Vec<Cow<'static, str>>> = Vec::new();
    for p in pieces {
        match (merged.last_mut(), p.len()) {
            (Some(last), 1) if last.len() == 1 => {
                last[0].to_mut().push_str(&p[0]);
            }
            _ => merged.push(p),
        }
    }
    enumerate_by_rank(&merged, MAX_PINYIN_VARIANTS)
}

/// Up to `cap` distinct concatenations choosing one option per piece, the
/// ones with the smallest sum of option ranks first (ties: earlier pieces
/// vary first).
fn enumerate_by_rank(pieces: &[Vec<Cow<'static, str>>], cap: usize) -> Vec<String> {
    if pieces.is_empty() {
        return Vec::new();
    }
    let n = pieces.len();
    let mut room = vec![0usize; n + 1];
    for i in (0..n).rev() {
        room[i] = room[i + 1] + pieces[i].len().saturating_sub(1);
    }
    let mut out = Vec::new();
    let mut chosen = vec![0usize; n];
    let mut rank = 0;
    while rank <= room[0] && out.len() < cap {
        walk(pieces, &room, 0, rank, &mut chosen, &mut out, cap);
        rank += 1;
    }
    out
}

fn walk(
    pieces: &[Vec<Cow<'static, str>>],
    room: &[usize],
    i: usize,
    left: usize,
    chosen: &mut [usize],
    out: &mut Vec<String>,
    cap: usize,
) {
    if out.len() >= cap {
        return;
    }
    if i == pieces.len() {
        if left == 0 {
            let s: String = pieces
                .iter()
                .zip(chosen.iter())
                .map(|(p, &k)| p[k].as_ref())
                .collect();
            if !s.is_empty() && !out.contains(&s) {
                out.push(s);
            }
        }
        return;
    }
    let hi = left.min(pieces[i].len().saturating_sub(1));
    let lo = left.saturating_sub(room[i + 1]);
    for r in (lo..=hi).rev() {
        chosen[i] = r;
        walk(pieces, room, i + 1, left - r, chosen, out, cap);
    }
}

/// For a Latin name of 2–3 words that all read as pinyin, the name with its
/// last word moved to the front (`jiaqi li` → `lijiaqi`).
fn turned_around(words: &[String]) -> Option<String> {
    if !(2..=3).contains(&words.len()) {
        return None;
    }
    let syllabic = |w: &String| {
        w.bytes().all(|b| b.is_ascii_lowercase()) && {
            let u = units(w);
            !u.stray && !u.parts.is_empty()
        }
    };
    if !words.iter().all(syllabic) {
        return None;
    }
    let (last, rest) = words.split_last()?;
    Some(
        std::iter::once(last)
            .chain(rest)
            .map(String::as_str)
            .collect(),
    )
}

// ---------------------------------------------------------------------------
// Syllables and similarity

/// Every toneless reading in the `pinyin` data (about 420), `ü` as `v`.
fn syllables() -> &'static Syllables {
    static SET: OnceLock<Syllables> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = HashSet::with_capacity_and_hasher(512, U64Keys::default());
        let ranges = [0x3400u32..0xA000, 0xF900..0xFB00, 0x20000..0x32400];
        for c in ranges.into_iter().flatten().filter_map(char::from_u32) {
            for p in c.to_pinyin_multi().into_iter().flatten() {
                set.extend(Syllables::pack(&normalise_reading(p.plain())));
            }
        }
        Syllables(set)
    })
}

/// The pinyin syllables, each packed into a `u64` (its at most six ASCII
/// letters, one per byte). Cutting a name into syllables looks up every
/// piece of up to six letters at every position; a `HashSet<String>` spent
/// most of that time hashing the piece with SipHash (a fifth of a batch of
/// name screenings, in a profile). A packed piece is hashed by one multiply.
struct Syllables(HashSet<u64, U64Keys>);

/// The hasher of sets and maps keyed by a `u64` that no one outside can
/// choose: packed syllables (a fixed set), and the screening index's name
/// keys (already hashes, under a random key of each index). SipHash's
/// protection against chosen keys would only cost time there.
pub type U64Keys = BuildHasherDefault<U64Hash>;

/// A multiply by a 64-bit odd constant (the golden ratio), folded so that
/// the low bits depend on every bit of the key (see [`U64Keys`]).
#[derive(Debug, Default)]
pub struct U64Hash(u64);

impl Hasher for U64Hash {
    fn finish(&self) -> u64 {
        let h = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^ (h >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0 << 8 | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl Syllables {
    /// `piece` as one integer; `None` if it cannot be a syllable.
    fn pack(piece: &str) -> Option<u64> {
        let bytes = piece.as_bytes();
        if bytes.is_empty() || bytes.len() > MAX_SYLLABLE_LEN {
            return None;
        }
        // Letters are never 0, so pieces of different lengths differ too.
        Some(bytes.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
    }

    fn contains(&self, piece: &str) -> bool {
        Self::pack(piece).is_some_and(|p| self.0.contains(&p))
    }
}

/// Longest pinyin syllable (`zhuang`).
const MAX_SYLLABLE_LEN: usize = 6;

/// A key cut into comparable units.
struct Units<'a> {
    parts: Vec<&'a str>,
    /// Some ASCII letters did not fit any pinyin syllable.
    stray: bool,
}

/// Cuts a key into units: runs of `a-z` into pinyin syllables (fewest
/// syllables, letters that fit none as single units), runs of ASCII digits
/// as one unit, any other character as one unit.
fn units(s: &str) -> Units<'_> {
    let mut u = Units {
        parts: Vec::new(),
        stray: false,
    };
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            let same_class = |c: u8| {
                if b.is_ascii_digit() {
                    c.is_ascii_digit()
                } else {
                    c.is_ascii_lowercase()
                }
            };
            let mut end = i + 1;
            while end < bytes.len() && same_class(bytes[end]) {
                end += 1;
            }
            let run = &s[i..end];
            if b.is_ascii_digit() {
                u.parts.push(run);
            } else {
                u.stray |= segment(run, &mut u.parts);
            }
            i = end;
        } else {
            let len = s[i..].chars().next().map_or(1, char::len_utf8);
            u.parts.push(&s[i..i + len]);
            i += len;
        }
    }
    u
}

/// Segments a run of `a-z` into pinyin syllables; returns whether some
/// letters fit none (each such letter becomes a unit of its own).
fn segment<'a>(run: &'a str, parts: &mut Vec<&'a str>) -> bool {
    // Fewest letters left over, then fewest syllables; a syllable inside the
    // run that starts with a/e/o (pinyin writes an apostrophe there:
    // xi'an) or has no vowel (n, ng, hm) costs a bit more, so `lina` is
    // li|na and `xian` is xian.
    const SYLLABLE_COST: u32 = 10;
    const ODD_SYLLABLE_COST: u32 = 15;
    const STRAY_COST: u32 = 10_000;
    let set = syllables();
    let n = run.len();
    // best[i] = (cost of run[i..], length of the first unit)
    let mut best = vec![(0u32, 0usize); n + 1];
    for i in (0..n).rev() {
        let mut pick = (u32::MAX, 1);
        for l in (1..=MAX_SYLLABLE_LEN.min(n - i)).rev() {
            let piece = &run[i..i + l];
            let cost = if set.contains(piece) {
                let vowel_initial = i > 0 && matches!(piece.as_bytes()[0], b'a' | b'e' | b'o');
                let vowelless = !piece.bytes().any(|b| b"aeiouv".contains(&b));
                if vowel_initial || vowelless {
                    ODD_SYLLABLE_COST
                } else {
                    SYLLABLE_COST
                }
            } else if l == 1 {
                STRAY_COST
            } else {
                continue;
            };
            let total = cost.saturating_add(best[i + l].0);
            if total < pick.0 {
                pick = (total, l);
            }
        }
        best[i] = pick;
    }
    let mut stray = false;
    let mut i = 0;
    while i < n {
        let l = best[i].1;
        if l == 1 && !set.contains(&run[i..=i]) {
            stray = true;
        }
        parts.push(&run[i..i + l]);
        i += l;
    }
    stray
}

/// Syllable-level score, or letter-level when either side has non-pinyin
/// Latin letters.
fn unit_similarity(a: &str, ua: &Units<'_>, b: &str, ub: &Units<'_>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    if ua.stray || ub.stray {
        return strsim::normalized_damerau_levenshtein(a, b);
    }
    let longest = ua.parts.len().max(ub.parts.len());
    if longest == 0 {
        return 0.0;
    }
    let d = strsim::generic_levenshtein(&ua.parts, &ub.parts);
    1.0 - d as f64 / longest as f64
}

fn sorted_intersect(a: &[String], b: &[String]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_the_distinct_adjacent_character_pairs() {
        assert_eq!(pairs("刘德华"), vec!["刘德", "德华"]);
        assert_eq!(pairs("aaa"), vec!["aa"]);
        assert!(pairs("张").is_empty());
        assert!(pairs("").is_empty());
    }

    fn keys(s: &str) -> NameKeys {
        name_keys(s)
    }

    fn sim(a: &str, b: &str) -> f64 {
        similarity(&keys(a), &keys(b))
    }

    fn assert_same(a: &str, b: &str) {
        let (ka, kb) = (keys(a), keys(b));
        assert!(same_name(&ka, &kb), "{a:?} vs {b:?}: {ka:?} / {kb:?}");
        assert_eq!(similarity(&ka, &kb), 1.0, "{a:?} vs {b:?}");
        assert_eq!(similarity(&kb, &ka), 1.0, "{b:?} vs {a:?}");
    }

    #[test]
    fn zhang_wei_equivalences() {
        let forms = [
            "张伟",
            "張偉",
            "Zhang Wei",
            "zhangwei",
            "ZHANG  WEI",
            "zhāng wěi",
            "ZHĀNG WĚI",
            "zhang1 wei3",
            "Zhang1Wei3",
            "Ｚｈａｎｇ　Ｗｅｉ",
            "ｚｈａｎｇｗｅｉ",
            "张\u{200B}伟",
            "张🔥伟",
            "张.伟",
            "张-伟",
            " 张 伟 ",
            "张\u{FE0F}伟",
            "张\u{200D}伟",
            "\u{FEFF}张\u{2060}伟\u{200E}",
            "张\u{0301}伟",
            "张\u{3164}伟",
            "Zh\u{200B}ang-W.e.i",
            "Ⓩⓗⓐⓝⓖ Ⓦⓔⓘ",
            "𝐙𝐡𝐚𝐧𝐠 𝐖𝐞𝐢",
            "Wei Zhang",
        ];
        for a in forms {
            for b in forms {
                assert_same(a, b);
            }
        }
        assert_eq!(keys("張偉").text, "张伟");
        assert_eq!(keys("张🔥伟").text, "张伟");
        assert_eq!(keys("Ｚｈａｎｇ　Ｗｅｉ").text, "zhangwei");
        assert_eq!(keys("zhāng wěi").text, "zhangwei");
        assert_eq!(keys("张伟").pinyin, vec!["zhangwei"]);
        assert_eq!(keys("zhang1 wei3").pinyin, vec!["weizhang", "zhangwei"]);
        assert_eq!(keys("zhangwei").pinyin, vec!["zhangwei"]);
    }

    #[test]
    fn lookalike_letters_fold() {
        // The reproduction of issue 14: a Cyrillic о in a pinyin name reads
        // as the `o` it looks like, a letter off `Zhao`, which is similar
        // enough (and found through `near_spellings`).
        assert_eq!(keys("Zh\u{43e}o Qingping"), keys("Zhoo Qingping"));
        assert!(sim("Zh\u{43e}o Qingping", "Zhao Qingping") >= MATCH_THRESHOLD);
        assert_eq!(keys("Zh\u{430}o Qingping"), keys("Zhao Qingping"));
        for evasion in [
            "Zh\u{430}o Qingping",                    // Cyrillic а
            "ZH\u{410}O QINGPING",                    // Cyrillic А
            "Zhao Q\u{456}ngp\u{456}ng",              // Cyrillic і
            "Zhao Qing\u{440}ing",                    // Cyrillic р
            "\u{396}hao Qingping",                    // Greek Ζ
            "Zh\u{3b1}o Qingping",                    // Greek α
            "Zh\u{251}o Qingping",                    // Latin alpha
            "Z\u{4bb}ao Qingping",                    // Cyrillic һ
            "ZHAO Q\u{399}NGP\u{406}NG",              // Greek Ι and Cyrillic І for I
            "Zh\u{430}\u{304}o Q\u{12b}ngp\u{12b}ng", // a tone mark on a look-alike
            "Zh\u{13aa}o Qingping",                   // Cherokee Ꭺ
            "Zh\u{a4ee}o",                            // Lisu ꓮ, with only part of the name
        ] {
            let k = keys(evasion);
            assert!(
                k.text.is_ascii() && k.pinyin.iter().all(|p| p.is_ascii()),
                "{evasion:?}: {k:?}"
            );
            if evasion != "Zh\u{a4ee}o" {
                assert_same(evasion, "Zhao Qingping");
            }
        }
        assert_eq!(keys("Zh\u{a4ee}o").text, "zhao");
        // Kana that look like Han characters are those characters.
        assert_same("王ニ", "王二");
        assert_eq!(keys("王ニ").text, "王二");
        assert_eq!(keys("ロ红").pinyin, vec!["kouhong"]);
        // strip_noise keeps every letter as written.
        assert_eq!(strip_noise("Zh\u{43e}o"), "Zh\u{43e}o");
        // ASCII and Han are never folded: l, I and 1 stay apart, m is no rn,
        // 〇 no O, tone digits stay tones.
        assert!(!same_name(&keys("Lin Na"), &keys("Iin Na")));
        assert!(!same_name(&keys("Mao"), &keys("Rnao")));
        assert_eq!(keys("〇").text, "〇");
        assert_eq!(keys("zhang1 wei3").pinyin, vec!["weizhang", "zhangwei"]);
        // Letters of other scripts that look like no single Latin letter
        // stay, so whole-script names still compare among themselves.
        assert_same("Иван Петров", "ИВАН ПЕТРОВ");
        assert!(!same_name(&keys("Иван"), &keys("Иона")));
        assert_eq!(keys("김민수").text, "김민수");
        assert_eq!(keys("Ærø").text, "ærø");
    }

    #[test]
    fn both_cases_of_a_letter_fold_alike() {
        // Folding sees the text after NFKC: letters NFKC leaves alone.
        let stable = |c: char| c.to_string().nfkc().eq(std::iter::once(c));
        for c in (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| stable(*c))
        {
            let Some(folded) = fold_lookalike(c) else {
                continue;
            };
            let folded = folded.to_ascii_lowercase();
            for other in [one(c.to_lowercase()), one(c.to_uppercase())]
                .into_iter()
                .flatten()
                .filter(|o| *o != c && !o.is_ascii() && stable(*o))
            {
                let again = fold_lookalike(other).map(|f| f.to_ascii_lowercase());
                assert_eq!(again, Some(folded), "{c} U+{:04X} / {other}", c as u32);
            }
            if let Some(capital) = one(c.to_uppercase()) {
                assert_eq!(keys(&c.to_string()), keys(&capital.to_string()), "{c}");
            }
        }
    }

    #[test]
    fn near_spellings_find_one_slip() {
        // Cyrillic о for a: the folded key reads `zhoo`, one letter off.
        let near = near_spellings(&keys("Zh\u{43e}o Qingping"));
        assert!(near.contains(&"zhaoqingping".to_string()), "{near:?}");
        assert!(near.len() <= MAX_NEAR_SPELLINGS);
        assert!(near.iter().all(|n| reads_as_pinyin(n.as_bytes())));
        let near = near_spellings(&keys("Li Jiaqj"));
        assert!(near.contains(&"lijiaqi".to_string()), "{near:?}");
        // A swap.
        let near = near_spellings(&keys("Zhnag Wei"));
        assert!(near.contains(&"zhangwei".to_string()), "{near:?}");
        // Pinyin already, English words, Han text: none.
        for none in [
            "Zhao Qingping",
            "张伟",
            "Happy Store",
            "Wang Xiaoming",
            "a1b2",
        ] {
            assert!(near_spellings(&keys(none)).is_empty(), "{none}");
        }
        assert!(reads_as_pinyin(b"zhaoqingping"));
        assert!(!reads_as_pinyin(b"zhooqingping"));
        assert!(!reads_as_pinyin(b""));
    }

    #[test]
    fn noise_forms_equal_plain_text() {
        for s in [
            "张\u{200B}伟",
            "张🔥伟",
            "张.伟",
            " 张 伟 ",
            "张\u{FE0F}伟",
            "张-伟",
            "张·伟",
            "【张伟】",
            "张\u{E0041}伟",
            "张👨\u{200D}👩\u{200D}👧伟",
            "张🇨🇳伟",
            "张⭐️伟",
            "张\u{00AD}伟",
            "张\t伟\n",
            "张\u{202E}伟",
        ] {
            assert_eq!(strip_noise(s), "张伟", "{s:?}");
            assert_eq!(keys(s).text, "张伟", "{s:?}");
        }
    }

    #[test]
    fn strip_noise_keeps_letters() {
        let cases = [
            ("zhāng wěi", "zhangwei"),
            ("Zhang Wei", "ZhangWei"),
            ("Müller & Söhne", "MullerSohne"),
            ("がっこう", "がっこう"),
            ("김민수", "김민수"),
            ("नमस्ते", "नमस्ते"),
            ("Иван Петров", "ИванПетров"),
            ("1\u{FE0F}\u{20E3}号店", "1号店"),
            ("Store 24/7", "Store247"),
            ("ﾊﾟﾝ", "パン"),
            ("⼈", "人"),
            ("", ""),
            ("🔥🔥 !!", ""),
        ];
        for (raw, want) in cases {
            assert_eq!(strip_noise(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn traditional_to_simplified() {
        for (t, s) in [
            ("張偉", "张伟"),
            ("劉德華", "刘德华"),
            ("單", "单"),
            ("曾", "曾"),
            ("歐陽娜娜", "欧阳娜娜"),
        ] {
            assert_eq!(keys(t).text, s);
        }
    }

    #[test]
    fn liu_dehua() {
        let forms = [
            "劉德華",
            "刘德华",
            "Liu Dehua",
            "liú déhuá",
            "liu2 de2 hua2",
            "LIU De-Hua",
            "Dehua Liu",
        ];
        for a in forms {
            for b in forms {
                assert_same(a, b);
            }
        }
    }

    #[test]
    fn surname_readings() {
        let pairs = [
            ("单田芳", "Shan Tianfang"),
            ("曾小贤", "Zeng Xiaoxian"),
            ("解晓东", "Xie Xiaodong"),
            ("仇英", "Qiu Ying"),
            ("区智", "Ou Zhi"),
            ("朴树", "Piao Shu"),
            ("查良镛", "Zha Liangyong"),
            ("盖聂", "Ge Nie"),
            ("乐嘉", "Yue Jia"),
            ("尉缭", "Yu Liao"),
            ("缪杰", "Miao Jie"),
            ("覃海", "Qin Hai"),
            ("翟天临", "Zhai Tianlin"),
            ("万俟卨", "Moqi Xie"),
            ("尉迟恭", "Yuchi Gong"),
            ("單田芳", "shàn tiánfāng"),
        ];
        for (han, latin) in pairs {
            assert_same(han, latin);
        }
        // The surname reading comes first even under the variant cap.
        assert!(keys("单田芳").pinyin.contains(&"shantianfang".to_string()));
        // Common readings still present.
        assert!(keys("单田芳").pinyin.contains(&"dantianfang".to_string()));
    }

    #[test]
    fn polyphone_in_given_name() {
        assert_same("李长庚", "Li Changgeng");
        assert_same("李长庚", "Li Zhanggeng");
        assert_same("王乐乐", "Wang Lele");
        assert_same("王乐乐", "Wang Yueyue");
        assert_same("李娜", "Li Na");
    }

    #[test]
    fn umlaut_and_case() {
        let forms = [
            "吕布", "呂布", "Lü Bu", "Lv Bu", "lu: bu", "LÜ BU", "lü3 bu4", "LǙ BÙ", "Lu:3 Bu4",
        ];
        for a in forms {
            for b in forms {
                assert_same(a, b);
            }
        }
        assert_eq!(keys("吕布").pinyin, vec!["lvbu"]);
        assert_same("女娲", "Nüwa");
        assert!(!same_name(&keys("吕布"), &keys("Lu Bu")));
        // Text drops the diaeresis; the pinyin key keeps it as v.
        assert_eq!(keys("Lü Bu").text, "lubu");
    }

    #[test]
    fn polyphone_table_only_selects_crate_readings() {
        let crate_readings = |c: char| -> Vec<String> {
            c.to_pinyin_multi()
                .map(|m| {
                    m.into_iter()
                        .map(|p| normalise_reading(p.plain()).into_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        for (c, rs) in POLYPHONES {
            let have = crate_readings(*c);
            for r in *rs {
                assert!(have.iter().any(|h| h == r), "{c} {r} not in {have:?}");
            }
        }
        for (c, r) in SURNAME_READINGS {
            let listed = polyphones().get(c).copied().unwrap_or_default();
            assert!(listed.contains(r), "{c} {r}");
        }
        for (cs, rs) in COMPOUND_SURNAMES {
            for (c, r) in cs.iter().zip(rs) {
                assert!(crate_readings(*c).iter().any(|h| h == r), "{c} {r}");
            }
        }
        let mut seen = HashSet::new();
        assert!(
            POLYPHONES.iter().all(|(c, _)| seen.insert(*c)),
            "duplicate entry"
        );
    }

    #[test]
    fn archaic_readings_do_not_match() {
        for (a, b) in [
            ("沈伟", "Chen Wei"),
            ("沈伟", "陈伟"),
            ("王芳", "Yu Fang"),
            ("冯伟", "Ping Wei"),
            ("方芳", "Wang Wang"),
            ("许伟", "Hu Wei"),
            ("章维达", "Zhang Weita"),
        ] {
            assert!(!same_name(&keys(a), &keys(b)), "{a} vs {b}");
            assert!(sim(a, b) < MATCH_THRESHOLD, "{a} vs {b}");
        }
        assert_eq!(keys("王芳").pinyin, vec!["wangfang"]);
        assert_eq!(keys("沈伟").pinyin, vec!["shenwei"]);
    }

    #[test]
    fn segmentation() {
        let cut = |s: &str| units(s).parts.join("|");
        assert_eq!(cut("zhangwei"), "zhang|wei");
        assert_eq!(cut("lina"), "li|na");
        assert_eq!(cut("xian"), "xian");
        assert_eq!(cut("lijiaqi"), "li|jia|qi");
        assert_eq!(cut("ouyangnana"), "ou|yang|na|na");
        assert_eq!(cut("tianan"), "tian|an");
        assert_eq!(cut("lijiaqj"), "li|jia|q|j");
        assert!(units("lijiaqj").stray);
        assert!(!units("zhangwei").stray);
        assert_eq!(cut("张伟12ab"), "张|伟|12|a|b");
        assert_eq!(cut(""), "");
    }

    #[test]
    fn homophones_match_by_design() {
        assert_same("王芳", "汪方");
        assert_same("王芳", "Wang Fang");
    }

    #[test]
    fn different_names_score_below_threshold() {
        let pairs = [
            ("张伟", "张卫东"),
            ("张伟", "李伟"),
            ("张伟", "章维达"),
            ("李娜", "李娜娜"),
            ("王芳", "王帆"),
            ("刘德华", "刘德"),
            ("欧阳娜娜", "欧阳娜"),
            ("Zhang Wei", "Zhang Weidong"),
            ("张伟", "Zhang Weidong"),
            ("李佳琦", "李佳"),
            ("Wang Xiaoming", "Wang Xiaomin"),
            ("Happy Store", "Lucky Store"),
            ("张伟", "Zhang Wei Store"),
        ];
        for (a, b) in pairs {
            let s = sim(a, b);
            assert!(s < MATCH_THRESHOLD, "{a} vs {b}: {s}");
            assert!(!same_name(&keys(a), &keys(b)), "{a} vs {b}");
        }
    }

    #[test]
    fn typos_in_long_names_score_above_threshold() {
        let pairs = [
            ("Li Jiaqi", "Li Jiaqj"),
            ("李佳琦", "Li Jiaqj"),
            ("Wang Xiaoming", "Wang Xiaomnig"),
            ("Happy Store", "Happy Stroe"),
            ("杭州美丽服装有限公司", "杭州美丽服饰有限公司"),
        ];
        for (a, b) in pairs {
            let s = sim(a, b);
            assert!((MATCH_THRESHOLD..1.0).contains(&s), "{a} vs {b}: {s}");
        }
    }

    #[test]
    fn tuning_numbers() {
        let close = |x: f64, y: f64| (x - y).abs() < 1e-3;
        assert!(close(sim("张伟", "张卫东"), 2.0 / 3.0));
        assert!(close(sim("张伟", "李伟"), 0.5));
        assert!(close(sim("王芳", "王帆"), 0.5));
        assert!(close(sim("欧阳娜娜", "欧阳娜"), 0.75));
        assert!(close(sim("Li Jiaqi", "Li Jiaqj"), 6.0 / 7.0));
        assert!(close(
            sim("杭州美丽服装有限公司", "杭州美丽服饰有限公司"),
            0.9
        ));
        // Plain Jaro-Winkler on the same keys would call these the same.
        assert!(strsim::jaro_winkler("zhangwei", "zhangweidong") > MATCH_THRESHOLD);
        assert!(strsim::jaro_winkler("wangfang", "wangfan") > MATCH_THRESHOLD);
    }

    #[test]
    fn english_shop_names() {
        let k = keys("Happy Store");
        assert_eq!(k.text, "happystore");
        assert_eq!(k.pinyin, vec!["happystore"]);
        assert_same("Happy Store", "HAPPY-STORE!!");
        assert_same("Happy Store", "ｈａｐｐｙ ｓｔｏｒｅ");
        assert_same("7-Eleven", "7 ELEVEN");
        assert_eq!(keys("Store 24").pinyin, vec!["store24"]);
        assert_eq!(keys("Store 24").text, "store24");
    }

    #[test]
    fn initials_blocking_key() {
        assert_eq!(keys("张伟").initials, vec!["zw"]);
        assert_eq!(keys("李佳琦").initials, vec!["ljq"]);
        assert!(keys("Zhang Wei").initials.contains(&"zw".to_string()));
        assert!(keys("zhangwei").initials.contains(&"zw".to_string()));
        assert!(keys("Li Jiaqi").initials.contains(&"ljq".to_string()));
        assert_eq!(keys("劉德華").initials, vec!["ldh"]);
        assert!(keys("单田芳").initials.contains(&"stf".to_string()));
        assert!(keys("").initials.is_empty());
    }

    #[test]
    fn variants_are_capped_sorted_unique() {
        // Every character polyphonic: 3^8 combinations.
        let k = keys("单单单单单单单单");
        assert_eq!(k.pinyin.len(), MAX_PINYIN_VARIANTS);
        assert!(k.pinyin.windows(2).all(|w| w[0] < w[1]));
        assert!(k.pinyin.contains(&"shandandandandandandandan".to_string()));
        assert!(k.pinyin.contains(&"dandandandandandandandan".to_string()));
        let long: String = "乐长行重".repeat(40);
        let k = keys(&long);
        assert!(k.pinyin.len() <= MAX_PINYIN_VARIANTS);
        assert!(!k.pinyin.is_empty());
    }

    #[test]
    fn empty_and_noise_only() {
        for s in ["", "   ", "🔥🔥", "\u{200B}\u{FE0F}", "...", "\u{0301}"] {
            let k = keys(s);
            assert_eq!(k, NameKeys::default(), "{s:?}");
            assert!(!same_name(&k, &k));
            assert_eq!(similarity(&k, &keys("张伟")), 0.0);
            assert_eq!(similarity(&k, &k), 0.0);
        }
    }

    #[test]
    fn mixed_and_other_scripts_do_not_panic() {
        let inputs = [
            "张伟abc",
            "abc张伟",
            "𠀀𪚥",
            "〇",
            "がっこう",
            "Ǆ",
            "ﬁ",
            "İstanbul",
            "ß",
            "\u{0301}\u{0308}u",
            "u::::",
            ":u",
            "1234567890",
            "a1b2c3",
            "ẑĉŝŋ",
            "ê̄",
            "m̄",
        ];
        for a in inputs {
            let k = keys(a);
            for b in inputs {
                let s = similarity(&k, &keys(b));
                assert!((0.0..=1.0).contains(&s), "{a} {b} {s}");
                assert_eq!(s, similarity(&keys(b), &k), "{a} {b}");
            }
        }
        let huge = "张伟🔥".repeat(10_000);
        let k = keys(&huge);
        assert!(k.text.chars().count() <= MAX_NAME_CHARS);
        assert!(similarity(&k, &k) == 1.0);
    }

    #[test]
    fn similarity_is_symmetric_and_bounded() {
        let names = [
            "张伟",
            "張偉",
            "张卫东",
            "李伟",
            "Zhang Wei",
            "Li Jiaqj",
            "Happy Store",
            "单田芳",
            "Dan Tianfang",
            "王芳",
            "汪方",
            "王帆",
        ];
        for a in names {
            for b in names {
                let (x, y) = (sim(a, b), sim(b, a));
                assert_eq!(x, y, "{a} {b}");
                assert!((0.0..=1.0).contains(&x));
            }
        }
    }

    #[test]
    fn name_keys_is_cheap() {
        let _ = keys("预热"); // build the lazily loaded tables
        let names = [
            "张伟",
            "Zhang Wei",
            "劉德華",
            "单田芳",
            "Happy Store",
            "zhāng wěi",
        ];
        let start = std::time::Instant::now();
        let rounds = 200;
        for _ in 0..rounds {
            for n in names {
                std::hint::black_box(keys(n));
            }
        }
        let per_call = start.elapsed() / (rounds * names.len() as u32);
        // Generous bound so that an unoptimised build on a busy machine passes.
        assert!(per_call.as_micros() < 500, "{per_call:?} per call");
    }
}
