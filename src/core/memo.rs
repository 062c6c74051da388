//! A bounded memo of effective documents, keyed by the checksums of the layers a plan
//! folds (see [`crate::core::resolve`]): the same documents in the same order always fold
//! to the same result, so the key needs no invalidation.
//!
//! The budget counts what an entry really costs: the key (a SHA-256 digest of the plan's
//! checksums, 32 bytes, however many layers), its slot in the table and in the eviction
//! queue, and the value's bytes with their allocation. When an insert would pass the
//! budget, the oldest entries are evicted first.

use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::mem::size_of;

/// The key of a plan: SHA-256 of its layer checksums, in order.
pub type Key = [u8; 32];

/// Builds the key of a plan from its layer checksums (bottom first).
pub fn key<'a>(checksums: impl IntoIterator<Item = &'a str>) -> Key {
    let mut hasher = Sha256::new();
    for checksum in checksums {
        hasher.update(checksum.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().into()
}

/// Bytes an allocation costs beyond its size (the allocator's header and rounding).
const ALLOCATION_OVERHEAD: usize = 16;

/// Counters of a memo's life.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MemoStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
}

/// Memo from a plan key to a value of known size in bytes.
pub struct Memo<V> {
    entries: HashMap<Key, (V, usize)>,
    order: VecDeque<Key>,
    bytes: usize,
    budget: usize,
    stats: MemoStats,
}

impl<V: Clone> Memo<V> {
    /// An empty memo holding at most `budget` bytes, entries included.
    pub fn new(budget: usize) -> Self {
        Memo {
            entries: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            budget,
            stats: MemoStats::default(),
        }
    }

    /// What an entry whose value holds `value_bytes` bytes costs: the value and its
    /// allocation, the table slot (key, value handle, size, control byte, at the table's
    /// 7/8 load) and the eviction queue's key.
    pub fn entry_cost(value_bytes: usize) -> usize {
        let slot = (size_of::<(Key, (V, usize))>() + 1) * 8 / 7;
        value_bytes + ALLOCATION_OVERHEAD + slot + size_of::<Key>()
    }

    /// The value stored for `key`, if any (counted as a hit or a miss).
    pub fn get(&mut self, key: &Key) -> Option<V> {
        match self.entries.get(key) {
            Some((value, _)) => {
                self.stats.hits += 1;
                Some(value.clone())
            }
            None => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// Stores `value` of `value_bytes` bytes for `key`, evicting the oldest entries to stay
    /// within the budget; a value that alone passes the budget is not kept.
    pub fn insert(&mut self, key: Key, value: V, value_bytes: usize) {
        let cost = Self::entry_cost(value_bytes);
        if cost > self.budget || self.entries.contains_key(&key) {
            return;
        }
        while self.bytes + cost > self.budget {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, freed)) = self.entries.remove(&oldest) {
                self.bytes -= freed;
                self.stats.evictions += 1;
            }
        }
        self.entries.insert(key, (value, cost));
        self.order.push_back(key);
        self.bytes += cost;
    }

    /// Changes the budget (the setting changed), evicting the oldest entries beyond it.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        while self.bytes > self.budget {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, freed)) = self.entries.remove(&oldest) {
                self.bytes -= freed;
                self.stats.evictions += 1;
            }
        }
    }

    /// Bytes the entries cost now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of stored values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Hits, misses and evictions so far.
    pub fn stats(&self) -> MemoStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_what_was_stored_for_the_same_plan_only() {
        let mut memo = Memo::new(10_000);
        memo.insert(key(["a", "b"]), 1, 10);
        assert_eq!(memo.get(&key(["a", "b"])), Some(1));
        assert_eq!(memo.get(&key(["b", "a"])), None);
        assert_eq!(memo.get(&key(["a"])), None);
        assert_eq!(
            memo.get(&key(["ab"])),
            None,
            "checksums are separated in the key"
        );
        assert_eq!(
            memo.stats(),
            MemoStats {
                hits: 1,
                misses: 3,
                evictions: 0
            }
        );
    }

    #[test]
    fn stays_within_its_budget_counting_every_byte_an_entry_costs() {
        let cost = Memo::<u64>::entry_cost(100);
        assert!(
            cost > 100 + 32,
            "an entry costs more than its value: {cost}"
        );
        let mut memo = Memo::new(cost * 3);
        for i in 0..10u8 {
            memo.insert(key([&i.to_string()[..]]), u64::from(i), 100);
            assert!(memo.bytes() <= cost * 3);
        }
        assert_eq!(memo.len(), 3);
        // The oldest went first: the last three stay.
        assert_eq!(memo.get(&key(["9"])), Some(9));
        assert_eq!(memo.get(&key(["6"])), None);
        assert_eq!(memo.stats().evictions, 7);
        memo.insert(key(["huge"]), 0, cost * 3);
        assert_eq!(
            memo.get(&key(["huge"])),
            None,
            "a value over the budget is not kept"
        );
        memo.set_budget(cost);
        assert_eq!(memo.len(), 1);
        assert!(!memo.is_empty());
    }
}
