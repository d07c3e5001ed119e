//! Bounded lists of per-prospect errors and warnings: the first ones are kept, the rest
//! only counted, so a payload of broken prospects cannot blow up a log row.

/// How many messages of each kind a log keeps.
pub const MAX_MESSAGES: usize = 200;

/// A bounded list of messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Messages {
    kept: Vec<String>,
    dropped: i32,
}

impl Messages {
    /// Adds a message (or counts it when the list is full).
    pub fn push(&mut self, message: String) {
        if self.kept.len() < MAX_MESSAGES {
            self.kept.push(message);
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// The messages kept.
    pub fn kept(&self) -> &[String] {
        &self.kept
    }

    /// How many did not fit.
    pub fn dropped(&self) -> i32 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_messages_are_kept_and_the_rest_counted() {
        let mut m = Messages::default();
        for i in 0..MAX_MESSAGES + 5 {
            m.push(format!("prospect {i}: bad"));
        }
        assert_eq!(m.kept().len(), MAX_MESSAGES);
        assert_eq!(m.kept()[0], "prospect 0: bad");
        assert_eq!(m.dropped(), 5);
    }
}
