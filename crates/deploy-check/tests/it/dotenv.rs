//! An env file as compose reads it with `--env-file` (or as `deploy/.env`): `NAME=value` lines,
//! `#` comments, double-quoted values with escapes, literal single-quoted values, unquoted
//! values with ` # inline comments`, and substitution of names defined on earlier lines in
//! unquoted and double-quoted values. Anything else (a duplicate, `export NAME=…`, a line
//! without `=`) is refused rather than guessed at.

use std::collections::BTreeMap;

use crate::interpolate;

/// A parsed env file.
#[derive(Debug, Default)]
pub(crate) struct EnvFile {
    /// Resolved values by name.
    pub(crate) vars: BTreeMap<String, String>,
    /// For each name, the comment lines just above it (without `#`), to read its documentation.
    pub(crate) comments: BTreeMap<String, Vec<String>>,
}

/// Parses an env file; the error names the line.
pub(crate) fn parse(text: &str) -> Result<EnvFile, String> {
    let mut file = EnvFile::default();
    let mut comments = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() {
            comments.clear();
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            comments.push(comment.trim().to_owned());
            continue;
        }
        let (name, raw) = line
            .split_once('=')
            .ok_or_else(|| format!("line {number}: expected NAME=value"))?;
        let name = name.trim();
        if !is_name(name) {
            return Err(format!("line {number}: `{name}` is not a variable name"));
        }
        let value =
            value(raw.trim_start(), &file.vars).map_err(|e| format!("line {number}: {e}"))?;
        if file.vars.insert(name.to_owned(), value).is_some() {
            return Err(format!("line {number}: `{name}` is defined twice"));
        }
        file.comments
            .insert(name.to_owned(), std::mem::take(&mut comments));
    }
    Ok(file)
}

fn value(raw: &str, earlier: &BTreeMap<String, String>) -> Result<String, String> {
    let substitute =
        |text: &str| interpolate::parse(text).and_then(|p| interpolate::resolve(&p, earlier));
    if let Some(quoted) = raw.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unclosed double quote".to_owned()),
                Some((at, '"')) => break at,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, c @ ('"' | '\\'))) => out.push(c),
                    Some((_, c)) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => return Err("unclosed double quote".to_owned()),
                },
                Some((_, c)) => out.push(c),
            }
        };
        after_quote(&quoted[end + 1..])?;
        substitute(&out)
    } else if let Some(quoted) = raw.strip_prefix('\'') {
        let end = quoted
            .find('\'')
            .ok_or_else(|| "unclosed single quote".to_owned())?;
        after_quote(&quoted[end + 1..])?;
        Ok(quoted[..end].to_owned())
    } else {
        let bare = raw
            .char_indices()
            .find(|&(at, c)| c == '#' && raw[..at].ends_with(char::is_whitespace))
            .map_or(raw, |(at, _)| &raw[..at]);
        substitute(bare.trim_end())
    }
}

fn after_quote(rest: &str) -> Result<(), String> {
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(())
    } else {
        Err(format!("unexpected `{rest}` after the closing quote"))
    }
}

fn is_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, name: &str, expected: &str) {
        let file = parse(text).unwrap();
        assert_eq!(
            file.vars.get(name).map(String::as_str),
            Some(expected),
            "{text}"
        );
    }

    fn refused(text: &str, fragment: &str) {
        let e = parse(text).unwrap_err();
        assert!(e.contains(fragment), "{text}: {e}");
    }

    #[test]
    fn values_read_as_compose_reads_them() {
        check("A=1", "A", "1");
        check("A = spaced out  ", "A", "spaced out");
        check("A=v # comment", "A", "v");
        check("A=v#not-a-comment", "A", "v#not-a-comment");
        check("A=\"0 0 * * * *\"", "A", "0 0 * * * *");
        check("A=\"x # y\" # comment", "A", "x # y");
        check("A=\"say \\\"hi\\\"\"", "A", "say \"hi\"");
        check("A='$B ${B}'", "A", "$B ${B}");
        check("A=", "A", "");
        check(
            "U=crm\nURL=postgres://${U}@db/$U",
            "URL",
            "postgres://crm@db/crm",
        );
        check("U=crm\nURL=\"${U}:${U}\"", "URL", "crm:crm");
    }

    #[test]
    fn mistakes_are_refused() {
        refused("A=1\nA=2", "defined twice");
        refused("export A=1", "not a variable name");
        refused("just words", "expected NAME=value");
        refused("A=\"open", "unclosed double quote");
        refused("A='x' y", "after the closing quote");
        refused("A=${LATER}\nLATER=1", "`LATER` is not defined");
    }

    #[test]
    fn comments_above_a_variable_document_it() {
        let file = parse("# one\n\n# two\n# three\nA=1\nB=2").unwrap();
        assert_eq!(file.comments["A"], ["two", "three"]);
        assert!(file.comments["B"].is_empty());
    }
}
