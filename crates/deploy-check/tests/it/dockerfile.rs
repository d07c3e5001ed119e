//! A Dockerfile split into stages and instructions: comments and parser directives dropped,
//! `\` continuation lines joined, one stage per `FROM`.

/// One build stage.
#[derive(Debug)]
pub(crate) struct Stage {
    /// The base image (`rust:1-bookworm`).
    pub(crate) image: String,
    /// The name after `AS`, if any.
    pub(crate) name: Option<String>,
    /// The instructions after `FROM`.
    pub(crate) instructions: Vec<Instruction>,
}

/// One instruction: its keyword in upper case and the rest of its (joined) line.
#[derive(Debug)]
pub(crate) struct Instruction {
    pub(crate) keyword: String,
    pub(crate) args: String,
}

impl Stage {
    /// The arguments of every instruction with this keyword.
    pub(crate) fn all<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.instructions
            .iter()
            .filter(move |i| i.keyword == keyword)
            .map(|i| i.args.as_str())
    }
}

/// Parses a Dockerfile.
pub(crate) fn parse(text: &str) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(trimmed);
        let full = std::mem::take(&mut pending);
        let (keyword, args) = full.split_once(char::is_whitespace).unwrap_or((&full, ""));
        let keyword = keyword.to_ascii_uppercase();
        let args = args.split_whitespace().collect::<Vec<_>>().join(" ");
        if keyword == "FROM" {
            let words: Vec<&str> = args.split(' ').filter(|w| !w.starts_with("--")).collect();
            let name = match words.as_slice() {
                [_, r#as, name] if r#as.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                _ => None,
            };
            stages.push(Stage {
                image: words.first().copied().unwrap_or_default().to_owned(),
                name,
                instructions: Vec::new(),
            });
        } else {
            stages
                .last_mut()
                .unwrap_or_else(|| panic!("`{keyword}` before any FROM"))
                .instructions
                .push(Instruction { keyword, args });
        }
    }
    stages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_continuations_are_read() {
        let stages = parse(
            "# syntax=docker/dockerfile:1\nFROM --platform=x rust:1 AS builder\nRUN a \\\n    # inside\n    b\n\nfrom debian\nuser 1:1\n",
        );
        assert_eq!(stages.len(), 2);
        assert_eq!(stages[0].image, "rust:1");
        assert_eq!(stages[0].name.as_deref(), Some("builder"));
        assert_eq!(stages[0].all("RUN").collect::<Vec<_>>(), ["a b"]);
        assert_eq!(stages[1].image, "debian");
        assert_eq!(stages[1].all("USER").collect::<Vec<_>>(), ["1:1"]);
    }
}
