use luminex_primitives::merkle::root;
use luminex_primitives::{Hash, MerkleProof};
use proptest::prelude::*;

fn leaves(n: usize) -> Vec<Hash> {
    (0..n).map(|i| Hash([i as u8 + 1; 32])).collect()
}

#[test]
fn every_leaf_proves_for_many_sizes() {
    for n in 1..40 {
        let l = leaves(n);
        let r = root(&l);
        for (i, item) in l.iter().enumerate() {
            let p = MerkleProof::build(&l, i).unwrap();
            assert!(p.verify(item, &r), "n={n} i={i}");
        }
        assert!(MerkleProof::build(&l, n).is_none());
    }
}

/// CVE-2012-2459: duplicating the last leaf must change the root.
#[test]
fn duplicated_last_leaf_changes_root() {
    for n in [1usize, 3, 5, 7] {
        let l = leaves(n);
        let mut dup = l.clone();
        dup.push(*l.last().unwrap());
        assert_ne!(root(&l), root(&dup));
    }
}

proptest! {
    #[test]
    fn tampered_proofs_fail(n in 2usize..64, i in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>()) {
        let l = leaves(n);
        let r = root(&l);
        let i = i.index(n);
        let p = MerkleProof::build(&l, i).unwrap();
        prop_assert!(p.verify(&l[i], &r));
        // Wrong item.
        prop_assert!(!p.verify(&Hash([0xee; 32]), &r));
        // A changed sibling.
        let mut q = p.clone();
        let s = flip.index(q.siblings.len());
        q.siblings[s].0[0] ^= 1;
        prop_assert!(!q.verify(&l[i], &r));
        // Another index.
        let mut q = p.clone();
        q.index = ((i + 1) % n) as u32;
        prop_assert!(!q.verify(&l[i], &r));
        // Extra or missing sibling.
        let mut q = p.clone();
        q.siblings.push(Hash::ZERO);
        prop_assert!(!q.verify(&l[i], &r));
        let mut q = p.clone();
        q.siblings.pop();
        prop_assert!(!q.verify(&l[i], &r));
    }
}
