//! A bounded memo of effective documents, keyed by the checksums of the layers a plan
//! folds (see [`crate::core::resolve`]): the same documents in the same order always fold
//! to the same result, so the key needs no invalidation. When an insert would pass the
//! byte budget the memo is emptied and starts again, which bounds memory at the cost of
//! some misses after a burst of distinct items.

use std::collections::HashMap;

/// Memo from a list of layer checksums to a value of known size in bytes.
pub struct Memo<V> {
    entries: HashMap<Vec<String>, V>,
    bytes: usize,
    budget: usize,
}

impl<V: Clone> Memo<V> {
    /// An empty memo holding at most `budget` bytes of values.
    pub fn new(budget: usize) -> Self {
        Memo {
            entries: HashMap::new(),
            bytes: 0,
            budget,
        }
    }

    /// The value stored for `key`, if any.
    pub fn get(&self, key: &[String]) -> Option<V> {
        self.entries.get(key).cloned()
    }

    /// Stores `value` of `size` bytes for `key`; a value larger than the budget is not kept.
    pub fn insert(&mut self, key: Vec<String>, value: V, size: usize) {
        if size > self.budget {
            return;
        }
        if self.bytes + size > self.budget {
            self.entries.clear();
            self.bytes = 0;
        }
        if self.entries.insert(key, value).is_none() {
            self.bytes += size;
        }
    }

    /// Number of stored values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn returns_what_was_stored_for_the_same_key_only() {
        let mut memo = Memo::new(100);
        memo.insert(key(&["a", "b"]), 1, 10);
        assert_eq!(memo.get(&key(&["a", "b"])), Some(1));
        assert_eq!(memo.get(&key(&["b", "a"])), None);
        assert_eq!(memo.get(&key(&["a"])), None);
    }

    #[test]
    fn stays_within_its_budget() {
        let mut memo = Memo::new(25);
        memo.insert(key(&["1"]), 1, 10);
        memo.insert(key(&["2"]), 2, 10);
        assert_eq!(memo.len(), 2);
        memo.insert(key(&["3"]), 3, 10);
        assert_eq!(memo.len(), 1);
        assert_eq!(memo.get(&key(&["3"])), Some(3));
        memo.insert(key(&["huge"]), 4, 26);
        assert_eq!(memo.get(&key(&["huge"])), None);
        assert!(!memo.is_empty());
    }
}
