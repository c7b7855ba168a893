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

/// The "arbitrary bytes as the body" mode of the stream targets: up to 16 bytes choose the cut
/// points, the rest of the input is the body. `None` when the input is too short.
pub fn raw_body(mut u: Unstructured<'_>) -> Option<(Vec<u8>, Vec<usize>)> {
    let cut_bytes = u.int_in_range(0..=16u8).ok()?;
    let control = u.bytes(usize::from(cut_bytes)).ok()?;
    let body = u.take_rest().to_vec();
    let cuts = cut_points(&mut Unstructured::new(control), body.len());
    Some((body, cuts))
}

/// Cuts `body` at a fuzzer-chosen length: the connection drops somewhere. `None` when the
/// input is too short.
pub fn truncate_somewhere(u: &mut Unstructured<'_>, body: &mut Vec<u8>) -> Option<()> {
    let keep = u.int_in_range(0..=body.len()).ok()?;
    body.truncate(keep);
    Some(())
}

/// A push/pull pipeline of the SDK (bytes in, items out), as the stream targets drive it.
pub trait Pipeline {
    /// What `next` yields: an event or an error.
    type Item;
    fn push(&mut self, bytes: &[u8]);
    /// Bytes the pipeline reads in place.
    fn push_bytes(&mut self, bytes: bytes::Bytes);
    fn next(&mut self) -> Option<Self::Item>;
    fn end_of_input(&mut self);
}

/// Implements [`Pipeline`] for an SDK pipeline type whose `push`, `next_event` and
/// `end_of_input` are inherent methods, yielding `Result<$event, openai_sdk::Error>`;
/// generic parameters go in brackets first: `impl_pipeline!([H: Bound] Type<H> => Event)`.
#[macro_export]
macro_rules! impl_pipeline {
    ([$($generics:tt)*] $pipeline:ty => $event:ty) => {
        impl<$($generics)*> $crate::split::Pipeline for $pipeline {
            type Item = std::result::Result<$event, openai_sdk::Error>;
            fn push(&mut self, bytes: &[u8]) {
                <$pipeline>::push(self, bytes);
            }
            fn push_bytes(&mut self, bytes: bytes::Bytes) {
                <$pipeline>::push_bytes(self, bytes);
            }
            fn next(&mut self) -> Option<Self::Item> {
                self.next_event()
            }
            fn end_of_input(&mut self) {
                <$pipeline>::end_of_input(self);
            }
        }
    };
    ($pipeline:ty => $event:ty) => {
        $crate::impl_pipeline!([] $pipeline => $event);
    };
}

/// Pushes `pieces` into `pipeline` one at a time (the first and every other one copied,
/// `push`, the others whole, `push_bytes`: a split transcript compared with the whole one
/// checks both), then ends the input, draining it after each step; `record` turns every
/// item into a transcript entry (and may read the pipeline's state between items).
/// Afterwards asserts that nothing more comes out.
pub fn transcript<P, T>(
    pipeline: &mut P,
    pieces: &[&[u8]],
    mut record: impl FnMut(&mut P, P::Item) -> T,
) -> Vec<T>
where
    P: Pipeline,
{
    let mut out = Vec::new();
    let mut drain = |pipeline: &mut P, out: &mut Vec<T>| {
        while let Some(item) = pipeline.next() {
            let entry = record(pipeline, item);
            out.push(entry);
        }
    };
    for (i, piece) in pieces.iter().enumerate() {
        if i % 2 == 0 {
            pipeline.push(piece);
        } else {
            pipeline.push_bytes(bytes::Bytes::copy_from_slice(piece));
        }
        drain(pipeline, &mut out);
    }
    pipeline.end_of_input();
    drain(pipeline, &mut out);
    assert!(pipeline.next().is_none(), "an item after the end");
    out
}
