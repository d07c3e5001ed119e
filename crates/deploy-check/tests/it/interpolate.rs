//! Compose's variable substitution, as in the compose file and in an env file: `$$`, `$NAME`,
//! `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`, `${NAME?error}`,
//! `${NAME:+other}` and `${NAME+other}`. A text is first split into pieces, so that a check can
//! list the names it refers to before anything is resolved.

use std::collections::BTreeMap;

/// A literal run of text or one variable reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Var { name: String, op: Op, word: String },
}

/// What a braced reference does when its variable is unset or empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `$NAME`, `${NAME}`.
    Plain,
    /// `${NAME:-word}` (unset or empty) / `${NAME-word}` (unset).
    Default { or_empty: bool },
    /// `${NAME:?word}` / `${NAME?word}`.
    Required { or_empty: bool },
    /// `${NAME:+word}` / `${NAME+word}`.
    Alternative { or_empty: bool },
}

/// Splits `text` into pieces.
pub(crate) fn parse(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        literal.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(r) = after.strip_prefix('$') {
            literal.push('$');
            rest = r;
            continue;
        }
        let (name, op, word, r) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in {text:?}"))?;
            let expr = &braced[..end];
            if expr.contains('$') {
                return Err(format!("nested substitution in {text:?} is not supported"));
            }
            let name_len = expr.find(|c: char| !is_name_char(c)).unwrap_or(expr.len());
            let (name, tail) = expr.split_at(name_len);
            let (op, word) =
                parse_op(tail).ok_or_else(|| format!("unknown operator `{tail}` in {text:?}"))?;
            (name, op, word, &braced[end + 1..])
        } else {
            let name_len = after
                .find(|c: char| !is_name_char(c))
                .unwrap_or(after.len());
            (&after[..name_len], Op::Plain, "", &after[name_len..])
        };
        if !is_name(name) {
            return Err(format!(
                "`$` not followed by a variable name in {text:?} (write `$$` for a dollar)"
            ));
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut literal)));
        }
        pieces.push(Piece::Var {
            name: name.to_owned(),
            op,
            word: word.to_owned(),
        });
        rest = r;
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}

/// The names `pieces` refer to, in order.
pub(crate) fn references(pieces: &[Piece]) -> Vec<&str> {
    pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Var { name, .. } => Some(name.as_str()),
            Piece::Text(_) => None,
        })
        .collect()
}

/// Resolves `pieces` with `vars`. A plain reference to an unset variable is an error here,
/// where compose would warn and substitute nothing.
pub(crate) fn resolve(pieces: &[Piece], vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Var { name, op, word } => {
                let value = vars.get(name).map(String::as_str);
                let set = |or_empty: bool| value.is_some_and(|v| !(or_empty && v.is_empty()));
                let resolved = match *op {
                    Op::Plain => value.ok_or_else(|| format!("`{name}` is not defined"))?,
                    Op::Default { or_empty } => {
                        if set(or_empty) {
                            value.unwrap_or_default()
                        } else {
                            word
                        }
                    }
                    Op::Required { or_empty } => {
                        if set(or_empty) {
                            value.unwrap_or_default()
                        } else {
                            return Err(format!("`{name}` is required: {word}"));
                        }
                    }
                    Op::Alternative { or_empty } => {
                        if set(or_empty) {
                            word
                        } else {
                            ""
                        }
                    }
                };
                out.push_str(resolved);
            }
        }
    }
    Ok(out)
}

fn parse_op(tail: &str) -> Option<(Op, &str)> {
    if tail.is_empty() {
        return Some((Op::Plain, ""));
    }
    let (or_empty, tail) = match tail.strip_prefix(':') {
        Some(t) => (true, t),
        None => (false, tail),
    };
    let mut chars = tail.chars();
    let op = match chars.next()? {
        '-' => Op::Default { or_empty },
        '?' => Op::Required { or_empty },
        '+' => Op::Alternative { or_empty },
        _ => return None,
    };
    Some((op, chars.as_str()))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(is_name_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<&str, &str>) {
        let vars = BTreeMap::from([
            ("A".to_owned(), "a".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ]);
        let actual = parse(text).and_then(|p| resolve(&p, &vars));
        match expected {
            Ok(value) => assert_eq!(actual.as_deref(), Ok(value), "{text}"),
            Err(fragment) => {
                let e = actual.expect_err(text);
                assert!(e.contains(fragment), "{text}: {e}");
            }
        }
    }

    #[test]
    fn substitution_follows_compose() {
        check("plain", Ok("plain"));
        check("x${A}y", Ok("xay"));
        check("$A/$A", Ok("a/a"));
        check("$$A costs $$5", Ok("$A costs $5"));
        check("${UNSET:-d}", Ok("d"));
        check("${EMPTY:-d}", Ok("d"));
        check("${EMPTY-d}", Ok(""));
        check("${A:-d}", Ok("a"));
        check("${A:?needed}", Ok("a"));
        check("${EMPTY:?needed}", Err("needed"));
        check("${EMPTY?needed}", Ok(""));
        check("${A:+alt}", Ok("alt"));
        check("${EMPTY:+alt}", Ok(""));
        check("${EMPTY+alt}", Ok("alt"));
        check("${UNSET}", Err("`UNSET` is not defined"));
        check("${A", Err("unclosed"));
        check("5$", Err("`$$`"));
        check("${A:-${B}}", Err("nested"));
        check("${A!x}", Err("unknown operator"));
    }

    #[test]
    fn references_are_listed_before_resolution() {
        let pieces = parse("${A}:${B:-x}@$C/$$D").unwrap();
        assert_eq!(references(&pieces), ["A", "B", "C"]);
    }
}
