//! A bounded memo of effective documents, keyed by the checksums of the layers a plan
//! folds (see [`crate::core::resolve`]): the same documents in the same order always fold
//! to the same result, so the key needs no invalidation. (Preloaded mode also keeps whole
//! answers in it, keyed by the question, which [`Memo::replace`] renews.)
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

/// Memo from a key to a value of known size in bytes.
pub struct Memo<V> {
    /// Value, cost, and the generation of its place in `order`.
    entries: HashMap<Key, (V, usize, u64)>,
    /// Keys oldest first, with the generation they were stored at (a replaced entry leaves
    /// its old place behind: it is skipped when reached, and compacted away).
    order: VecDeque<(Key, u64)>,
    generation: u64,
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
            generation: 0,
            bytes: 0,
            budget,
            stats: MemoStats::default(),
        }
    }

    /// What an entry whose value holds `value_bytes` bytes costs: the value and its
    /// allocation, the table slot (key, value handle, size, generation, control byte, at
    /// the table's 7/8 load) and its place in the eviction queue.
    pub fn entry_cost(value_bytes: usize) -> usize {
        let slot = (size_of::<(Key, (V, usize, u64))>() + 1) * 8 / 7;
        value_bytes + ALLOCATION_OVERHEAD + slot + size_of::<(Key, u64)>()
    }

    /// The value stored for `key`, if any (counted as a hit or a miss).
    pub fn get(&mut self, key: &Key) -> Option<V> {
        self.get_valid(key, |_| true)
    }

    /// The value stored for `key` if `valid` accepts it (a hit), else None (a miss).
    pub fn get_valid(&mut self, key: &Key, valid: impl FnOnce(&V) -> bool) -> Option<V> {
        match self.entries.get(key) {
            Some((value, _, _)) if valid(value) => {
                self.stats.hits += 1;
                Some(value.clone())
            }
            _ => {
                self.stats.misses += 1;
                None
            }
        }
    }

    /// Stores `value` of `value_bytes` bytes for `key` unless `key` holds one, evicting the
    /// oldest entries to stay within the budget; a value that alone passes the budget is not
    /// kept.
    pub fn insert(&mut self, key: Key, value: V, value_bytes: usize) {
        if !self.entries.contains_key(&key) {
            self.store(key, value, value_bytes);
        }
    }

    /// Stores `value` for `key` as [`Memo::insert`] does, replacing what `key` held (the
    /// entry counts as new: it is evicted last).
    pub fn replace(&mut self, key: Key, value: V, value_bytes: usize) {
        if let Some((_, freed, _)) = self.entries.remove(&key) {
            self.bytes -= freed;
        }
        self.store(key, value, value_bytes);
    }

    fn store(&mut self, key: Key, value: V, value_bytes: usize) {
        let cost = Self::entry_cost(value_bytes);
        if cost > self.budget {
            return;
        }
        self.evict_to(self.budget - cost);
        self.generation += 1;
        self.entries.insert(key, (value, cost, self.generation));
        self.order.push_back((key, self.generation));
        self.bytes += cost;
        // Places left behind by replaced entries: dropped once they outnumber the live ones.
        if self.order.len() > 2 * self.entries.len() + 16 {
            let entries = &self.entries;
            self.order
                .retain(|(k, g)| entries.get(k).is_some_and(|(_, _, at)| at == g));
        }
    }

    /// Evicts the oldest entries until the entries cost at most `bytes`.
    fn evict_to(&mut self, bytes: usize) {
        while self.bytes > bytes {
            let Some((oldest, generation)) = self.order.pop_front() else {
                break;
            };
            if self
                .entries
                .get(&oldest)
                .is_some_and(|(_, _, g)| *g == generation)
            {
                if let Some((_, freed, _)) = self.entries.remove(&oldest) {
                    self.bytes -= freed;
                    self.stats.evictions += 1;
                }
            }
        }
    }

    /// Changes the budget (the setting changed), evicting the oldest entries beyond it.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        self.evict_to(budget);
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

    #[test]
    fn a_replaced_entry_is_counted_once_and_evicted_last() {
        let cost = Memo::<u64>::entry_cost(100);
        let mut memo = Memo::new(cost * 2);
        memo.insert(key(["a"]), 1, 100);
        memo.insert(key(["b"]), 2, 100);
        memo.insert(key(["a"]), 9, 100);
        assert_eq!(
            memo.get(&key(["a"])),
            Some(1),
            "insert keeps what a key holds"
        );
        for round in 0..1000u64 {
            memo.replace(key(["a"]), round, 100);
        }
        assert_eq!(memo.len(), 2);
        assert_eq!(
            memo.bytes(),
            cost * 2,
            "a replaced entry is not counted twice"
        );
        assert!(
            memo.order.len() <= 2 * 2 + 17,
            "the queue does not grow with replacements"
        );
        memo.insert(key(["c"]), 3, 100);
        assert_eq!(memo.get(&key(["b"])), None, "b is now the oldest");
        assert_eq!(memo.get(&key(["a"])), Some(999));
        assert_eq!(memo.get(&key(["c"])), Some(3));
        let before = memo.stats();
        assert_eq!(
            memo.get_valid(&key(["c"]), |v| *v == 4),
            None,
            "a stale value is a miss"
        );
        assert_eq!(memo.stats().misses, before.misses + 1);
        assert_eq!(memo.stats().hits, before.hits);
    }
}
