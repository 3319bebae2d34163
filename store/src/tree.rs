//! Our own form of the tree's nodes and a batch updater that writes exactly the nodes jmt 0.11's
//! `batch_put_value_sets` writes (same root, same nodes at the same (version, nibble path), same
//! stale nodes), several times faster: keys are pre-hashed and sorted, each level recurses over
//! sub-slices, cached nodes are shared (`Arc`) instead of cloned, and every new internal node is
//! hashed once. Blocks with deletes take [`put_per_key`] instead, which follows jmt's per-key
//! `put_value_set` (its result depends on the key order). jmt remains the reader for proofs and
//! the reference in the tests (`store/src/tree/tests.rs` runs random blocks through both).
//!
//! The tree layout this reproduces (jmt's): a node per nibble prefix shared by two or more keys
//! (internal, up to 16 children), a leaf at the shortest prefix that is a key's alone. Every node on
//! the path of a written key is rewritten at the new version; a leaf pushed down by a new key that
//! shares its prefix is rewritten at the new version too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::{RootHash, StoreError, Version};

/// A hash of a key (the tree position) or of a value.
pub(crate) type Hash32 = [u8; 32];

const LEAF_DOMAIN: &[u8] = b"JMT::LeafNode";
const INTERNAL_DOMAIN: &[u8] = b"JMT::IntrnalNode";
/// jmt's hash of an empty subtree (and of an empty tree).
pub(crate) const PLACEHOLDER: Hash32 = *b"SPARSE_MERKLE_PLACEHOLDER_HASH__";

/// A child pointer of an internal node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChildRef {
    pub hash: Hash32,
    pub version: Version,
    /// Leaves below (1 for a leaf).
    pub leaf_count: u64,
    pub is_leaf: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Internal {
    /// Bit i set = a child at nibble i.
    pub bitmap: u16,
    /// The children in nibble order.
    pub children: Vec<ChildRef>,
}

impl Internal {
    pub fn child(&self, nibble: u8) -> Option<&ChildRef> {
        let bit = 1u16 << nibble;
        if self.bitmap & bit == 0 {
            return None;
        }
        let index = (self.bitmap & (bit - 1)).count_ones() as usize;
        self.children.get(index)
    }

    fn child_mut(&mut self, nibble: u8) -> Option<&mut ChildRef> {
        let bit = 1u16 << nibble;
        if self.bitmap & bit == 0 {
            return None;
        }
        let index = (self.bitmap & (bit - 1)).count_ones() as usize;
        self.children.get_mut(index)
    }

    /// Sets (or with `None` removes) the child at `nibble`.
    fn set(&mut self, nibble: u8, child: Option<ChildRef>) {
        let bit = 1u16 << nibble;
        let index = (self.bitmap & (bit - 1)).count_ones() as usize;
        let present = self.bitmap & bit != 0;
        match (child, present) {
            (Some(child), true) => self.children[index] = child,
            (Some(child), false) => {
                self.children.insert(index, child);
                self.bitmap |= bit;
            }
            (None, true) => {
                self.children.remove(index);
                self.bitmap &= !bit;
            }
            (None, false) => {}
        }
    }

    pub fn leaf_count(&self) -> u64 {
        self.children.iter().map(|c| c.leaf_count).sum()
    }

    /// jmt's hash: a binary Merkle tree over the 16 slots, where an empty range is the
    /// placeholder and a range holding a single leaf (and nothing else) is that leaf's hash.
    pub fn hash(&self) -> Hash32 {
        let mut slots = [PLACEHOLDER; 16];
        let mut leaves = 0u16;
        for (nibble, child) in self.iter() {
            slots[usize::from(nibble)] = child.hash;
            if child.is_leaf {
                leaves |= 1 << nibble;
            }
        }
        range_hash(&slots, self.bitmap, leaves, 0, 16)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u8, &ChildRef)> {
        (0..16u8)
            .filter(move |n| self.bitmap & (1 << n) != 0)
            .zip(&self.children)
    }
}

fn range_hash(slots: &[Hash32; 16], existing: u16, leaves: u16, start: u8, width: u8) -> Hash32 {
    let mask = (((1u32 << width) - 1) << start) as u16;
    let (in_range, leaves_in_range) = (existing & mask, leaves & mask);
    if in_range == 0 {
        PLACEHOLDER
    } else if width == 1 || (in_range.count_ones() == 1 && leaves_in_range != 0) {
        slots[in_range.trailing_zeros() as usize]
    } else {
        let half = width / 2;
        let left = range_hash(slots, existing, leaves, start, half);
        let right = range_hash(slots, existing, leaves, start + half, half);
        Sha256::new()
            .chain_update(INTERNAL_DOMAIN)
            .chain_update(left)
            .chain_update(right)
            .finalize()
            .into()
    }
}

pub(crate) fn leaf_hash(key_hash: &Hash32, value_hash: &Hash32) -> Hash32 {
    Sha256::new()
        .chain_update(LEAF_DOMAIN)
        .chain_update(key_hash)
        .chain_update(value_hash)
        .finalize()
        .into()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TreeNode {
    Null,
    Leaf {
        key_hash: Hash32,
        value_hash: Hash32,
    },
    Internal(Internal),
}

impl TreeNode {
    /// The node's hash (internal nodes: from the hashes their children pointers hold).
    pub fn hash_of(&self) -> Hash32 {
        match self {
            TreeNode::Null => PLACEHOLDER,
            TreeNode::Leaf {
                key_hash,
                value_hash,
            } => leaf_hash(key_hash, value_hash),
            TreeNode::Internal(internal) => internal.hash(),
        }
    }
}

/// The position of a node: the first `depth` nibbles of `bytes` (the rest is zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NodePath {
    pub bytes: Hash32,
    pub depth: u8,
}

impl NodePath {
    pub const ROOT: NodePath = NodePath {
        bytes: [0; 32],
        depth: 0,
    };

    /// The first `depth` nibbles of `key`.
    pub fn of(key: &Hash32, depth: usize) -> Self {
        let mut bytes = [0u8; 32];
        let whole = depth / 2;
        bytes[..whole].copy_from_slice(&key[..whole]);
        if depth % 2 == 1 {
            bytes[whole] = key[whole] & 0xF0;
        }
        Self {
            bytes,
            depth: depth as u8,
        }
    }

    /// This path extended by one nibble.
    fn set_nibble(&mut self, nibble: u8) {
        let depth = usize::from(self.depth);
        if depth.is_multiple_of(2) {
            self.bytes[depth / 2] = nibble << 4;
        } else {
            self.bytes[depth / 2] |= nibble;
        }
        self.depth += 1;
    }

    /// The nibbles packed two per byte (an odd count leaves the last low half zero).
    pub fn packed(&self) -> &[u8] {
        &self.bytes[..usize::from(self.depth).div_ceil(2)]
    }
}

/// The nibble of `key` at `depth` (0 = high half of the first byte).
pub(crate) fn nibble(key: &Hash32, depth: usize) -> u8 {
    let byte = key[depth / 2];
    if depth.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0F
    }
}

/// Where the updater reads the committed tree.
pub(crate) trait NodeSource {
    fn node(
        &mut self,
        version: Version,
        path: &NodePath,
    ) -> Result<Option<Arc<TreeNode>>, StoreError>;
}

/// The result of a batch update: like jmt's `TreeUpdateBatch` for one version.
#[derive(Debug, Default)]
pub(crate) struct TreeUpdate {
    pub root: RootHash,
    /// New nodes, all at the updated version.
    pub nodes: Vec<(NodePath, Arc<TreeNode>)>,
    /// Nodes of earlier versions that the new version no longer references.
    pub stale: Vec<(Version, NodePath)>,
}

/// Inserts or overwrites `writes` (key hash, value hash; sorted by key hash, no duplicates, not
/// empty) at `version` over the tree of `version - 1` (or an empty tree at version 0), writing
/// exactly what jmt's `batch_put_value_sets(vec![writes], None, version)` writes.
pub(crate) fn batch_insert(
    source: &mut impl NodeSource,
    version: Version,
    writes: &[(Hash32, Hash32)],
) -> Result<TreeUpdate, StoreError> {
    if writes.is_empty() {
        return Err(StoreError::Tree("batch update without writes".into()));
    }
    if writes.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(StoreError::Tree(
            "batch update keys not sorted and unique".into(),
        ));
    }
    let mut updater = Updater {
        source,
        version,
        update: TreeUpdate {
            nodes: Vec::with_capacity(writes.len() * 2),
            ..TreeUpdate::default()
        },
    };
    let root = match version.checked_sub(1) {
        // jmt starts version 0 from a null root of its own (never written, never stale).
        None => Arc::new(TreeNode::Null),
        Some(base) => updater.read(base, &NodePath::ROOT)?,
    };
    let root_ref = match &*root {
        // A null root of an earlier version is not marked stale by jmt; the new tree is built
        // from scratch.
        TreeNode::Null => updater.create(writes, 0)?,
        node => updater.update(node, version.saturating_sub(1), writes, 0)?,
    };
    updater.update.root = root_ref.hash;
    Ok(updater.update)
}

struct Updater<'s, S> {
    source: &'s mut S,
    version: Version,
    update: TreeUpdate,
}

/// Splits `writes` (sorted, sharing their first `depth` nibbles) by their nibble at `depth`.
fn groups(
    writes: &[(Hash32, Hash32)],
    depth: usize,
) -> impl Iterator<Item = (u8, &[(Hash32, Hash32)])> {
    let mut rest = writes;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let n = nibble(&first.0, depth);
        let len = rest.partition_point(|w| nibble(&w.0, depth) == n);
        let (group, tail) = rest.split_at(len);
        rest = tail;
        Some((n, group))
    })
}

impl<S: NodeSource> Updater<'_, S> {
    fn read(&mut self, version: Version, path: &NodePath) -> Result<Arc<TreeNode>, StoreError> {
        self.source.node(version, path)?.ok_or_else(|| {
            StoreError::Tree(format!(
                "missing tree node at version {version}, path {} ({} nibbles)",
                hex::encode(path.packed()),
                path.depth
            ))
        })
    }

    /// Rewrites `node` (committed at `node_version`, at the path the writes share up to `depth`).
    fn update(
        &mut self,
        node: &TreeNode,
        node_version: Version,
        writes: &[(Hash32, Hash32)],
        depth: usize,
    ) -> Result<ChildRef, StoreError> {
        let path = NodePath::of(&writes[0].0, depth);
        match node {
            TreeNode::Internal(internal) => {
                self.update.stale.push((node_version, path));
                let mut slots: [Option<ChildRef>; 16] = [None; 16];
                for (n, child) in internal.iter() {
                    slots[usize::from(n)] = Some(*child);
                }
                for (n, group) in groups(writes, depth) {
                    let new_child = match internal.child(n) {
                        Some(child) => {
                            let child_path = NodePath::of(&group[0].0, depth + 1);
                            let child_node = self.read(child.version, &child_path)?;
                            self.update(&child_node, child.version, group, depth + 1)?
                        }
                        None => self.create(group, depth + 1)?,
                    };
                    slots[usize::from(n)] = Some(new_child);
                }
                Ok(self.emit_internal(path, &slots))
            }
            TreeNode::Leaf {
                key_hash,
                value_hash,
            } => {
                self.update.stale.push((node_version, path));
                self.with_existing_leaf(key_hash, value_hash, writes, depth)
            }
            TreeNode::Null => Err(StoreError::Tree(format!(
                "null node below the root at version {node_version}"
            ))),
        }
    }

    /// A new subtree at the writes' path at `depth` holding the writes and an existing leaf whose
    /// key shares that path.
    fn with_existing_leaf(
        &mut self,
        leaf_key: &Hash32,
        leaf_value: &Hash32,
        writes: &[(Hash32, Hash32)],
        depth: usize,
    ) -> Result<ChildRef, StoreError> {
        if let [(key, value)] = writes {
            if key == leaf_key {
                return Ok(self.emit_leaf(key, value, depth));
            }
        }
        if depth >= 64 {
            return Err(StoreError::Tree("keys collide over all 64 nibbles".into()));
        }
        let path = NodePath::of(&writes[0].0, depth);
        let leaf_nibble = nibble(leaf_key, depth);
        let mut slots: [Option<ChildRef>; 16] = [None; 16];
        let mut leaf_placed = false;
        for (n, group) in groups(writes, depth) {
            slots[usize::from(n)] = Some(if n == leaf_nibble {
                leaf_placed = true;
                self.with_existing_leaf(leaf_key, leaf_value, group, depth + 1)?
            } else {
                self.create(group, depth + 1)?
            });
        }
        if !leaf_placed {
            // The existing leaf moves one level down, rewritten at this version.
            slots[usize::from(leaf_nibble)] = Some(self.emit_leaf(leaf_key, leaf_value, depth + 1));
        }
        Ok(self.emit_internal(path, &slots))
    }

    /// A new subtree holding just `writes`.
    fn create(
        &mut self,
        writes: &[(Hash32, Hash32)],
        depth: usize,
    ) -> Result<ChildRef, StoreError> {
        if let [(key, value)] = writes {
            return Ok(self.emit_leaf(key, value, depth));
        }
        if depth >= 64 {
            return Err(StoreError::Tree("keys collide over all 64 nibbles".into()));
        }
        let path = NodePath::of(&writes[0].0, depth);
        let mut slots: [Option<ChildRef>; 16] = [None; 16];
        for (n, group) in groups(writes, depth) {
            slots[usize::from(n)] = Some(self.create(group, depth + 1)?);
        }
        Ok(self.emit_internal(path, &slots))
    }

    fn emit_leaf(&mut self, key: &Hash32, value: &Hash32, depth: usize) -> ChildRef {
        let hash = leaf_hash(key, value);
        self.update.nodes.push((
            NodePath::of(key, depth),
            Arc::new(TreeNode::Leaf {
                key_hash: *key,
                value_hash: *value,
            }),
        ));
        ChildRef {
            hash,
            version: self.version,
            leaf_count: 1,
            is_leaf: true,
        }
    }

    fn emit_internal(&mut self, path: NodePath, slots: &[Option<ChildRef>; 16]) -> ChildRef {
        let mut bitmap = 0u16;
        let mut children = Vec::with_capacity(slots.iter().flatten().count());
        for (n, slot) in slots.iter().enumerate() {
            if let Some(child) = slot {
                bitmap |= 1 << n;
                children.push(*child);
            }
        }
        let internal = Internal { bitmap, children };
        let child = ChildRef {
            hash: internal.hash(),
            version: self.version,
            leaf_count: internal.leaf_count(),
            is_leaf: false,
        };
        self.update
            .nodes
            .push((path, Arc::new(TreeNode::Internal(internal))));
        child
    }
}

/// Applies `writes` (key hash, value hash or `None` = delete) one key after the other, in the
/// given order, at `version` over the tree of `version - 1` (or an empty tree at version 0),
/// writing exactly what jmt's `put_value_set(writes, version)` writes, deletes included. jmt's
/// result depends on the order (a collapse before or after an insert below the same node leaves
/// the surviving leaf at a different version), so this follows its per-key algorithm: a node
/// written earlier in the same block and replaced again is dropped, not marked stale. Internal
/// node hashes are computed once at the end instead of after every key.
pub(crate) fn put_per_key(
    source: &mut impl NodeSource,
    version: Version,
    writes: &[(Hash32, Option<Hash32>)],
) -> Result<TreeUpdate, StoreError> {
    let mut block = PerKey {
        source,
        version,
        new: BTreeMap::new(),
        stale: BTreeSet::new(),
    };
    let mut root_version = match version.checked_sub(1) {
        Some(base) => base,
        None => {
            // jmt starts version 0 from a null root of its own, in its new nodes.
            block.new.insert(NodePath::ROOT, TreeNode::Null);
            0
        }
    };
    for (key, value) in writes {
        match block.put(root_version, key, 0, value.as_ref())? {
            Put::Updated(_) => root_version = version,
            Put::Unchanged => {}
            Put::Removed => {
                root_version = version;
                block.new.insert(NodePath::ROOT, TreeNode::Null);
            }
        }
    }
    if root_version == version && !block.new.contains_key(&NodePath::ROOT) {
        // A delete reaching the null root of this block drops that node (as jmt does); jmt then
        // writes a null root again when it closes the version.
        block.new.insert(NodePath::ROOT, TreeNode::Null);
    }
    if version > 0 && block.new.is_empty() && block.stale.is_empty() {
        // jmt writes the unchanged root again at the new version.
        let root = block.read(root_version, &NodePath::ROOT)?;
        block.new.insert(NodePath::ROOT, (*root).clone());
        root_version = version;
    }
    let root = if root_version == version {
        block.finish_hash(&NodePath::ROOT)?
    } else {
        block.read(root_version, &NodePath::ROOT)?.hash_of()
    };
    Ok(TreeUpdate {
        root,
        nodes: block
            .new
            .into_iter()
            .map(|(path, node)| (path, Arc::new(node)))
            .collect(),
        stale: block.stale.into_iter().collect(),
    })
}

/// The outcome of one key at one node (jmt's `PutResult`).
enum Put {
    /// The subtree is now this node (at the new version).
    Updated(ChildRef),
    Unchanged,
    Removed,
}

struct PerKey<'s, S> {
    source: &'s mut S,
    version: Version,
    /// Nodes written at `version` so far, by path.
    new: BTreeMap<NodePath, TreeNode>,
    stale: BTreeSet<(Version, NodePath)>,
}

/// Marks a child whose hash is computed at the end (an internal node of the new version).
const HASH_PENDING: Hash32 = [0; 32];

impl<S: NodeSource> PerKey<'_, S> {
    fn get(&mut self, version: Version, path: &NodePath) -> Result<Option<TreeNode>, StoreError> {
        if version == self.version {
            return Ok(self.new.get(path).cloned());
        }
        Ok(self.source.node(version, path)?.map(|n| (*n).clone()))
    }

    fn read(&mut self, version: Version, path: &NodePath) -> Result<Arc<TreeNode>, StoreError> {
        self.get(version, path)?.map(Arc::new).ok_or_else(|| {
            StoreError::Tree(format!(
                "missing tree node at version {version}, path {} ({} nibbles)",
                hex::encode(path.packed()),
                path.depth
            ))
        })
    }

    /// jmt's `delete_node`: a node of this block is dropped, an older one becomes stale.
    fn delete(&mut self, version: Version, path: &NodePath) {
        if version != self.version || self.new.remove(path).is_none() {
            self.stale.insert((version, *path));
        }
    }

    fn put_new(&mut self, path: NodePath, node: TreeNode) -> Result<(), StoreError> {
        if self.new.insert(path, node).is_some() {
            return Err(StoreError::Tree(format!(
                "node written twice at path {}",
                hex::encode(path.packed())
            )));
        }
        Ok(())
    }

    fn new_leaf(
        &mut self,
        key: &Hash32,
        value: &Hash32,
        depth: usize,
    ) -> Result<ChildRef, StoreError> {
        self.put_new(
            NodePath::of(key, depth),
            TreeNode::Leaf {
                key_hash: *key,
                value_hash: *value,
            },
        )?;
        Ok(ChildRef {
            hash: leaf_hash(key, value),
            version: self.version,
            leaf_count: 1,
            is_leaf: true,
        })
    }

    fn new_internal(&mut self, path: NodePath, internal: Internal) -> Result<ChildRef, StoreError> {
        let leaf_count = internal.leaf_count();
        self.put_new(path, TreeNode::Internal(internal))?;
        Ok(ChildRef {
            hash: HASH_PENDING,
            version: self.version,
            leaf_count,
            is_leaf: false,
        })
    }

    /// `key` at the node at `depth` on its path, committed at `node_version`.
    fn put(
        &mut self,
        node_version: Version,
        key: &Hash32,
        depth: usize,
        value: Option<&Hash32>,
    ) -> Result<Put, StoreError> {
        let path = NodePath::of(key, depth);
        let (node, exists) = match self.get(node_version, &path)? {
            Some(node) => (node, true),
            None => (TreeNode::Null, false),
        };
        match node {
            TreeNode::Internal(internal) => {
                self.put_internal(node_version, path, internal, key, depth, value)
            }
            TreeNode::Leaf {
                key_hash,
                value_hash,
            } => self.put_leaf(
                node_version,
                path,
                (key_hash, value_hash),
                key,
                depth,
                value,
            ),
            TreeNode::Null => {
                if depth > 0 {
                    return Err(StoreError::Tree(format!(
                        "null node below the root at version {node_version}"
                    )));
                }
                if node_version == self.version && exists {
                    self.delete(node_version, &path);
                }
                match value {
                    Some(value) => Ok(Put::Updated(self.new_leaf(key, value, 0)?)),
                    None => Ok(Put::Unchanged),
                }
            }
        }
    }

    fn put_internal(
        &mut self,
        node_version: Version,
        path: NodePath,
        mut internal: Internal,
        key: &Hash32,
        depth: usize,
        value: Option<&Hash32>,
    ) -> Result<Put, StoreError> {
        let n = nibble(key, depth);
        let outcome = match internal.child(n) {
            Some(child) => self.put(child.version, key, depth + 1, value)?,
            None => match value {
                Some(value) => Put::Updated(self.new_leaf(key, value, depth + 1)?),
                None => Put::Unchanged,
            },
        };
        match outcome {
            Put::Unchanged => return Ok(Put::Unchanged),
            Put::Updated(child) => internal.set(n, Some(child)),
            Put::Removed => internal.set(n, None),
        }
        self.delete(node_version, &path);
        match internal.children.as_slice() {
            [] => Ok(Put::Removed),
            [only] if only.is_leaf => {
                // A lone leaf moves up into this node's place, at the new version.
                let (only_nibble, only) = internal
                    .iter()
                    .next()
                    .map(|(nibble, child)| (nibble, *child))
                    .ok_or_else(|| StoreError::Tree("child bitmap out of step".into()))?;
                let mut child_path = path;
                child_path.set_nibble(only_nibble);
                let leaf = self.read(only.version, &child_path)?;
                self.delete(only.version, &child_path);
                self.put_new(path, (*leaf).clone())?;
                Ok(Put::Updated(ChildRef {
                    version: self.version,
                    ..only
                }))
            }
            _ => Ok(Put::Updated(self.new_internal(path, internal)?)),
        }
    }

    fn put_leaf(
        &mut self,
        node_version: Version,
        path: NodePath,
        (leaf_key, leaf_value): (Hash32, Hash32),
        key: &Hash32,
        depth: usize,
        value: Option<&Hash32>,
    ) -> Result<Put, StoreError> {
        if leaf_key == *key {
            self.delete(node_version, &path);
            return match value {
                Some(value) => Ok(Put::Updated(self.new_leaf(key, value, depth)?)),
                None => Ok(Put::Removed),
            };
        }
        let Some(value) = value else {
            return Ok(Put::Unchanged);
        };
        self.delete(node_version, &path);
        // The first nibble (at or below `depth`) where the two keys part.
        let fork = (depth..64)
            .find(|&d| nibble(key, d) != nibble(&leaf_key, d))
            .ok_or_else(|| StoreError::Tree("leaf at a foreign path".into()))?;
        let moved = self.new_leaf(&leaf_key, &leaf_value, fork + 1)?;
        let added = self.new_leaf(key, value, fork + 1)?;
        let mut below = Internal::default();
        below.set(nibble(&leaf_key, fork), Some(moved));
        below.set(nibble(key, fork), Some(added));
        let mut top = self.new_internal(NodePath::of(key, fork), below)?;
        for d in (depth..fork).rev() {
            let mut chain = Internal::default();
            chain.set(nibble(key, d), Some(top));
            top = self.new_internal(NodePath::of(key, d), chain)?;
        }
        Ok(Put::Updated(top))
    }

    /// Fills in the pending hashes below the new node at `path`; returns its hash.
    fn finish_hash(&mut self, path: &NodePath) -> Result<Hash32, StoreError> {
        let mut internal = match self.new.get(path) {
            Some(TreeNode::Internal(internal)) => internal.clone(),
            Some(node) => return Ok(node.hash_of()),
            None => {
                return Err(StoreError::Tree(format!(
                    "new node missing at path {}",
                    hex::encode(path.packed())
                )))
            }
        };
        let pending: Vec<u8> = internal
            .iter()
            .filter(|(_, c)| c.version == self.version && !c.is_leaf)
            .map(|(n, _)| n)
            .collect();
        for n in pending {
            let mut child_path = *path;
            child_path.set_nibble(n);
            let hash = self.finish_hash(&child_path)?;
            if let Some(child) = internal.child_mut(n) {
                child.hash = hash;
            }
        }
        let hash = internal.hash();
        self.new.insert(*path, TreeNode::Internal(internal));
        Ok(hash)
    }
}

#[cfg(test)]
mod tests;
