//! CSV as livecredit writes it (the public export; the console's screening
//! results reuse it): RFC 4180 through the `csv` crate, CRLF line ends, and
//! spreadsheet formulas neutralised. A field that begins with `=`, `+`, `-`,
//! `@`, a tab or a carriage return is prefixed with `'`, as OWASP advises
//! against CSV injection, so a name like `=HYPERLINK(…)` opens as text.

use std::borrow::Cow;

/// The characters a spreadsheet may read as the start of a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `field` as a spreadsheet shows it literally.
pub fn neutralise(field: &str) -> Cow<'_, str> {
    if field.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{field}"))
    } else {
        Cow::Borrowed(field)
    }
}

/// Appends `records` to `out`, one CSV line each (quoted where RFC 4180
/// needs it, every field neutralised).
pub fn write_records<R, F>(
    out: &mut Vec<u8>,
    records: impl IntoIterator<Item = R>,
) -> Result<(), csv::Error>
where
    R: IntoIterator<Item = F>,
    F: AsRef<str>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    for record in records {
        let fields: Vec<F> = record.into_iter().collect();
        writer.write_record(fields.iter().map(|f| neutralise(f.as_ref()).into_owned()))?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(records: &[&[&str]]) -> String {
        let mut out = Vec::new();
        write_records(&mut out, records.iter().map(|r| r.iter())).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formulas_are_neutralised_and_quoting_is_rfc_4180() {
        assert_eq!(
            csv(&[&["=1+1", "+x", "-2", "@SUM(A1)", "\tx", "\rx", "a=b"]]),
            "'=1+1,'+x,'-2,'@SUM(A1),'\tx,\"'\rx\",a=b\r\n"
        );
        assert_eq!(
            csv(&[&["a,b", "say \"hi\"", "two\nlines", "", "刘德华"]]),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,刘德华\r\n"
        );
        assert_eq!(csv(&[&["h1", "h2"], &["1", "2"]]), "h1,h2\r\n1,2\r\n");
    }

    #[test]
    fn safe_fields_are_borrowed() {
        assert!(matches!(neutralise("3301**********1234"), Cow::Borrowed(_)));
        assert_eq!(neutralise("-"), "'-");
    }
}
