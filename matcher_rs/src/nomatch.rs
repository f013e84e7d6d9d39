//! The capture pairs of a request that share no value, kept compact.
//!
//! Almost every request has a few captures, so its (source, sink) pairs fit
//! in one 64-bit mask: a result then needs no allocation for them. Larger
//! requests keep a list.

use std::hash::{Hash, Hasher};

/// (source index, sink index) pairs, in increasing order.
#[derive(Debug, Clone)]
pub struct NoMatch(Pairs);

#[derive(Debug, Clone)]
enum Pairs {
    /// Bit `i * sinks + j` for the pair `(i, j)` (at most 64 pairs in all).
    Bits {
        bits: u64,
        sinks: u32,
    },
    List(Vec<(u32, u32)>),
}

impl Default for NoMatch {
    fn default() -> Self {
        NoMatch(Pairs::Bits { bits: 0, sinks: 0 })
    }
}

impl NoMatch {
    /// The pairs `(i, j)` of `sources x sinks` for which `matched[i * sinks + j]`
    /// is false.
    pub fn unmatched(sources: usize, sinks: usize, matched: &[bool]) -> NoMatch {
        let n = sources * sinks;
        if n <= 64 {
            let bits = matched[..n]
                .iter()
                .enumerate()
                .fold(0u64, |b, (k, &m)| b | ((!m) as u64) << k);
            return NoMatch(Pairs::Bits {
                bits,
                sinks: sinks as u32,
            });
        }
        let mut list = Vec::with_capacity(matched[..n].iter().filter(|&&m| !m).count());
        list.extend(
            (0..n)
                .filter(|&k| !matched[k])
                .map(|k| ((k / sinks) as u32, (k % sinks) as u32)),
        );
        NoMatch(Pairs::List(list))
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Pairs::Bits { bits, .. } => bits.count_ones() as usize,
            Pairs::List(list) => list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pairs, in increasing order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.0 {
            Pairs::Bits { bits, sinks } => IterInner::Bits {
                bits: *bits,
                sinks: *sinks,
            },
            Pairs::List(list) => IterInner::List(list.iter()),
        })
    }

    pub fn to_vec(&self) -> Vec<(u32, u32)> {
        self.iter().collect()
    }
}

/// The iterator of [`NoMatch::iter`].
pub struct Iter<'a>(IterInner<'a>);

enum IterInner<'a> {
    Bits { bits: u64, sinks: u32 },
    List(std::slice::Iter<'a, (u32, u32)>),
}

impl Iterator for Iter<'_> {
    type Item = (u32, u32);

    #[inline]
    fn next(&mut self) -> Option<(u32, u32)> {
        match &mut self.0 {
            IterInner::Bits { bits, sinks } => {
                if *bits == 0 {
                    return None;
                }
                let k = bits.trailing_zeros();
                *bits &= *bits - 1;
                Some((k / *sinks, k % *sinks))
            }
            IterInner::List(it) => it.next().copied(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.0 {
            IterInner::Bits { bits, .. } => bits.count_ones() as usize,
            IterInner::List(it) => it.len(),
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl PartialEq for NoMatch {
    fn eq(&self, other: &NoMatch) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for NoMatch {}

impl PartialEq<Vec<(u32, u32)>> for NoMatch {
    fn eq(&self, other: &Vec<(u32, u32)>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().copied())
    }
}

/// Hashes like the list of the pairs (`Vec<(u32, u32)>`).
impl Hash for NoMatch {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for pair in self.iter() {
            pair.hash(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash<T: Hash>(t: &T) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    #[test]
    fn bits_and_lists_give_the_pairs_in_order() {
        let mut rng = crate::test_rng::XorShift(0x9e37_79b9_7f4a_7c15);
        for sources in 0..12 {
            for sinks in 0..12 {
                let matched: Vec<bool> = (0..sources * sinks)
                    .map(|_| rng.next().is_multiple_of(3))
                    .collect();
                let want: Vec<(u32, u32)> = (0..sources)
                    .flat_map(|i| (0..sinks).map(move |j| (i, j)))
                    .filter(|&(i, j)| !matched[i * sinks + j])
                    .map(|(i, j)| (i as u32, j as u32))
                    .collect();
                let got = NoMatch::unmatched(sources, sinks, &matched);
                assert_eq!(got.to_vec(), want);
                assert_eq!(got, want);
                assert_eq!(got.len(), want.len());
                assert_eq!(got.iter().len(), want.len());
                assert_eq!(got.is_empty(), want.is_empty());
                assert_eq!(hash(&got), hash(&want));
            }
        }
        assert!(NoMatch::default().is_empty());
    }
}
