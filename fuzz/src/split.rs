//! Cutting an input into chunks at fuzzer-chosen points.

use arbitrary::Unstructured;

/// Up to 32 cut points in `0..=len`, sorted, read from `u`.
pub fn cut_points(u: &mut Unstructured<'_>, len: usize) -> Vec<usize> {
    let count = u.int_in_range(0..=32u8).unwrap_or(0);
    let mut cuts = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let Ok(at) = u.int_in_range(0..=len) else {
            break;
        };
        cuts.push(at);
    }
    cuts.sort_unstable();
    cuts
}

/// The pieces of `bytes` between the cut points (empty pieces included: pushing nothing
/// must be harmless too).
pub fn pieces<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for &cut in cuts {
        out.push(&bytes[start..cut]);
        start = cut;
    }
    out.push(&bytes[start..]);
    out
}

/// Runs `run` over `bytes` pushed whole and pushed in the given pieces, and asserts the two
/// transcripts are equal. `run` receives the chunks to push and returns a transcript (what
/// came out, in order, as comparable values).
pub fn assert_split_invariant<T, F>(bytes: &[u8], cuts: &[usize], mut run: F)
where
    T: PartialEq + std::fmt::Debug,
    F: FnMut(&[&[u8]]) -> T,
{
    let whole = run(&[bytes]);
    let split = run(&pieces(bytes, cuts));
    assert_eq!(
        whole, split,
        "output differs when the input is split at {cuts:?}"
    );
}
