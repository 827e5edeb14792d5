//! The device queue (with its key index) against a reference model of the documented
//! semantics: random sequences of keyed and plain inserts, head removals, by-key removals
//! and RemoveEntry; after every step the return values and the list order must match.
#![cfg(not(any(loom, shuttle)))]

use irpkit::nt::*;

struct Model {
    busy: bool,
    list: Vec<(usize, u32)>,
    keys: Vec<u32>,
}

impl Model {
    fn insert(&mut self, e: usize, key: Option<u32>) -> bool {
        if let Some(k) = key {
            self.keys[e] = k;
        }
        if !self.busy {
            self.busy = true;
            return false;
        }
        match key {
            Some(k) => {
                let at = self.list.iter().position(|&(_, x)| x > k).unwrap_or(self.list.len());
                self.list.insert(at, (e, k));
            }
            None => self.list.push((e, self.keys[e])),
        }
        true
    }
    fn remove(&mut self, key: Option<u32>) -> Option<usize> {
        if self.list.is_empty() {
            self.busy = false;
            return None;
        }
        let at = key.and_then(|k| self.list.iter().position(|&(_, x)| x >= k)).unwrap_or(0);
        Some(self.list.remove(at).0)
    }
    fn remove_entry(&mut self, e: usize) -> bool {
        match self.list.iter().position(|&(x, _)| x == e) {
            Some(at) => {
                self.list.remove(at);
                true
            }
            None => false,
        }
    }
}

fn walk(q: *mut KDeviceQueue, entries: &[*mut KDeviceQueueEntry]) -> Vec<usize> {
    let mut out = Vec::new();
    // SAFETY: the test owns the queue; no routine runs concurrently.
    unsafe {
        let head = &raw mut (*q).device_list_head;
        let mut at = (*head).flink;
        while at != head {
            out.push(entries.iter().position(|&e| e.cast::<ListEntry>() == at).expect("a known entry"));
            at = (*at).flink;
        }
    }
    out
}

fn run(seed: u64, steps: usize, keys: u32, plain_percent: u64) {
    let kernel = irpkit::Kernel::new();
    let _e = kernel.enter();
    let q = Box::into_raw(Box::new(KDeviceQueue::new()));
    const N: usize = 48;
    let entries: Vec<*mut KDeviceQueueEntry> = (0..N)
        .map(|_| {
            Box::into_raw(Box::new(KDeviceQueueEntry {
                device_list_entry: ListEntry::null(),
                sort_key: 0,
                inserted: 0,
            }))
        })
        .collect();
    let mut model = Model { busy: false, list: Vec::new(), keys: vec![0; N] };
    let mut in_queue = [false; N];
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // SAFETY: the queue and entries are the test's own, boxed (stable) until freed below.
    unsafe {
        ke_initialize_device_queue(q);
        for step in 0..steps {
            let e = (next() % N as u64) as usize;
            let key = (next() % u64::from(keys)) as u32;
            match next() % 100 {
                r if r < 45 => {
                    if in_queue[e] {
                        continue;
                    }
                    let plain = next() % 100 < plain_percent;
                    let got = if plain {
                        ke_insert_device_queue(q, entries[e])
                    } else {
                        ke_insert_by_key_device_queue(q, entries[e], key)
                    };
                    let want = model.insert(e, (!plain).then_some(key));
                    assert_eq!(got, want, "step {step}: insert");
                    in_queue[e] = got;
                }
                r if r < 65 => {
                    if !model.busy {
                        continue;
                    }
                    let got = ke_remove_device_queue(q);
                    let want = model.remove(None);
                    assert_eq!(entries.iter().position(|&x| x == got), want, "step {step}: remove head");
                    if let Some(i) = want {
                        in_queue[i] = false;
                    }
                }
                r if r < 85 => {
                    if !model.busy {
                        continue;
                    }
                    let got = ke_remove_by_key_device_queue(q, key);
                    let want = model.remove(Some(key));
                    assert_eq!(entries.iter().position(|&x| x == got), want, "step {step}: remove by key {key}");
                    if let Some(i) = want {
                        in_queue[i] = false;
                    }
                }
                _ => {
                    let got = ke_remove_entry_device_queue(q, entries[e]);
                    assert_eq!(got, model.remove_entry(e), "step {step}: remove entry");
                    in_queue[e] &= !got;
                }
            }
            assert_eq!((*q).busy.load(std::sync::atomic::Ordering::SeqCst) != 0, model.busy, "step {step}: busy");
            assert_eq!(walk(q, &entries), model.list.iter().map(|&(e, _)| e).collect::<Vec<_>>(), "step {step}: order");
        }
        for e in entries {
            drop(Box::from_raw(e));
        }
        drop(Box::from_raw(q));
    }
}

#[test]
fn device_queue_matches_the_model_keyed_only() {
    for seed in 1..=8 {
        run(seed * 7919, 4000, 12, 0);
    }
}

#[test]
fn device_queue_matches_the_model_mixed_plain_and_keyed() {
    for seed in 1..=8 {
        run(seed * 104_729, 4000, 6, 20);
    }
}

#[test]
fn device_queue_matches_the_model_many_keys() {
    run(42, 20_000, 1 << 20, 3);
}
