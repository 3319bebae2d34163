use std::collections::BTreeMap;

use crate::{Entries, StateRead, StateWrite, StoreError};

type Layer = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Buffered writes of one block over a read-only base (normally a [`crate::Snapshot`]).
///
/// Writes go to the top layer; [`StateDelta::transact`] pushes a layer for the duration of a closure
/// and merges it on `Ok` or drops it on `Err`, so a failed tx (or message) rolls back for free.
pub struct StateDelta<S> {
    base: S,
    layers: Vec<Layer>,
}

impl<S: StateRead> StateDelta<S> {
    pub fn new(base: S) -> Self {
        Self {
            base,
            layers: vec![Layer::new()],
        }
    }

    pub fn base(&self) -> &S {
        &self.base
    }

    /// Runs `f` on a transactional fork: its writes survive only if it returns `Ok`.
    pub fn transact<T, E>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, E>) -> Result<T, E> {
        self.layers.push(Layer::new());
        let depth = self.layers.len();
        let result = f(self);
        debug_assert_eq!(self.layers.len(), depth, "transact layers must be balanced");
        let top = self.layers.pop().unwrap_or_default();
        if result.is_ok() {
            if let Some(below) = self.layers.last_mut() {
                below.extend(top);
            }
        }
        result
    }

    /// All buffered writes, flattened (later layers win), in key order.
    pub fn changes(&self) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        let mut out = Layer::new();
        for layer in &self.layers {
            for (k, v) in layer {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    /// Consumes the delta, returning its base and flattened writes.
    pub fn into_parts(self) -> (S, BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        let mut out = Layer::new();
        for layer in self.layers {
            out.extend(layer);
        }
        (self.base, out)
    }

    fn buffered(&self, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        self.layers.iter().rev().find_map(|l| l.get(key))
    }
}

impl<S: StateRead> StateRead for StateDelta<S> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.buffered(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.get_raw(key),
        }
    }

    fn prefix_raw(&self, prefix: &[u8]) -> Result<Entries, StoreError> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = self
            .base
            .prefix_raw(prefix)?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        for layer in &self.layers {
            for (k, v) in layer.range(prefix.to_vec()..) {
                if !k.starts_with(prefix) {
                    break;
                }
                merged.insert(k.clone(), v.clone());
            }
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }
}

impl<S: StateRead> StateWrite for StateDelta<S> {
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        if let Some(top) = self.layers.last_mut() {
            top.insert(key, Some(value));
        }
    }

    fn delete(&mut self, key: Vec<u8>) {
        if let Some(top) = self.layers.last_mut() {
            top.insert(key, None);
        }
    }
}
