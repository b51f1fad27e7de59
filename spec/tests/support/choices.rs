//! A stream of decisions read from bytes.
//!
//! proptest supplies random bytes and shrinks them; libFuzzer supplies its
//! mutated inputs. Reading every decision from one byte string lets both
//! drive the same generators, and an exhausted stream reads as zeros, which
//! every generator maps to its simplest choice: any input is a complete
//! recipe, and a shorter input means a simpler case.

pub struct Choices<'a> {
    bytes: &'a [u8],
}

impl<'a> Choices<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The next byte, 0 once the input is used up.
    pub fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                b
            }
            None => 0,
        }
    }

    /// A number in `0..n` (`n` at least 1), from two bytes so that lists
    /// longer than 256 entries are reachable.
    pub fn below(&mut self, n: usize) -> usize {
        let raw = usize::from(self.byte()) << 8 | usize::from(self.byte());
        raw % n.max(1)
    }

    /// True with probability 1/`n`; false on an exhausted stream.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == n.max(1) - 1
    }

    /// One of `items` (which must not be empty); the first when exhausted.
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    /// `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }

    /// `n` bytes without spending `n` bytes of input: a pattern from one
    /// seed byte, for the kilobyte-sized ciphertexts near the limits.
    pub fn filler(&mut self, n: usize) -> Vec<u8> {
        let seed = self.byte();
        (0..n)
            .map(|i| (i as u8).wrapping_mul(seed | 1).wrapping_add(seed))
            .collect()
    }
}
