//! Incremental partial JSON parsing, in linear time (documented in the parsing module).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Number, Value};

/// The deepest nesting of arrays and objects accepted, as in jiter: a container deeper than
/// this fails when its first member starts.
pub const MAX_DEPTH: usize = 200;

/// The longest integer part of a number, in digits, as in jiter.
const MAX_INT_DIGITS: usize = 4300;

/// Slots of a log's first chunk of storage; each next chunk has twice as many, up to
/// [`MAX_CHUNK`]: a short document (a tool's arguments) stays small.
const FIRST_CHUNK: usize = 2;

/// Slots of the largest chunks (32–40 KB of nodes and members). With 64-slot chunks a long
/// document's logs were spread over many small blocks among the stream's other allocations,
/// and reading them at `content.done` of a 16k-object stream took 1.5× as long.
const MAX_CHUNK: usize = 1024;

// ---------------------------------------------------------------------------------------------
// Append-only, shareable storage: the log of one level's members.
// ---------------------------------------------------------------------------------------------

/// A chunk of slots, linked to the next one. Slots are written once, in order, by the
/// parser; snapshots read the first `len` of them. Nothing is ever moved or overwritten, so
/// readers and the writer never conflict. The slots are a heap slice of their own, made in
/// place (an array of up to [`MAX_CHUNK`] slots built on the stack and moved into the `Arc`
/// was 57 KB of stack, copied).
struct Chunk<S> {
    next: OnceLock<Arc<Chunk<S>>>,
    slots: Box<[S]>,
}

/// A slot of a log: written once by the parser, then read by any number of readers. The
/// tree's nodes and members are packed into atomic words ([`NodeSlot`], [`MemberSlot`]); the
/// level heads, keys and long strings, which own memory, are `OnceLock`s.
trait Slot: Send + Sync {
    /// What is written.
    type Item;
    /// What a read gives: a reference into the slot, or a copy of what it holds.
    type Read<'a>
    where
        Self: 'a;
    /// An unwritten slot.
    fn empty() -> Self;
    /// Writes the slot (once: a second write is ignored or never made).
    fn put(&self, item: Self::Item);
    /// What the slot holds, or `None` before it is written.
    fn read(&self) -> Option<Self::Read<'_>>;
}

impl<T: Send + Sync> Slot for OnceLock<T> {
    type Item = T;
    type Read<'a>
        = &'a T
    where
        T: 'a;
    fn empty() -> Self {
        OnceLock::new()
    }
    fn put(&self, item: T) {
        let _ = self.set(item);
    }
    fn read(&self) -> Option<&T> {
        self.get()
    }
}

/// Dropping a chain of chunks by the default (recursive) drop glue would take one stack frame
/// per chunk: a flat array of a few hundred thousand members overflows a 2 MiB thread stack
/// and aborts the process. The chain is unlinked here in a loop instead; a chunk still shared
/// with a snapshot (or the writer) stops the loop, and its owner frees the rest later. A node
/// owns no other node (a container's members are in the log of the level below it), so
/// nothing else recurses either.
impl<S> Drop for Chunk<S> {
    fn drop(&mut self) {
        let mut next = self.next.take();
        while let Some(mut chunk) = next {
            // Only the last owner unlinks the rest; if another owner drops its share at the
            // same moment, whichever drops last runs this loop for that chunk.
            next = Arc::get_mut(&mut chunk).and_then(|chunk| chunk.next.take());
        }
    }
}

/// A new chunk of `n` slots, `n` kept between [`FIRST_CHUNK`] and [`MAX_CHUNK`].
fn chunk<S: Slot>(n: usize) -> Arc<Chunk<S>> {
    Arc::new(Chunk {
        next: OnceLock::new(),
        slots: (0..n.clamp(FIRST_CHUNK, MAX_CHUNK))
            .map(|_| S::empty())
            .collect(),
    })
}

/// The writing end of a log: one level's array or object members, or the parser's level heads.
struct Writer<S> {
    head: Arc<Chunk<S>>,
    tail: Arc<Chunk<S>>,
    tail_base: usize,
    len: usize,
}

impl<S: Slot> Writer<S> {
    fn new() -> Self {
        let head = chunk(FIRST_CHUNK);
        Writer {
            tail: Arc::clone(&head),
            head,
            tail_base: 0,
            len: 0,
        }
    }

    fn push(&mut self, value: S::Item) {
        let size = self.tail.slots.len();
        if self.len - self.tail_base >= size {
            let next = self.tail.next.get_or_init(|| chunk(size * 2));
            let next = Arc::clone(next);
            self.tail_base += size;
            self.tail = next;
        }
        if let Some(slot) = self.tail.slots.get(self.len - self.tail_base) {
            // A slot is written exactly once: `len` only grows.
            slot.put(value);
            self.len += 1;
        }
    }

    /// The members written so far, in order.
    fn iter(&self) -> SeqIter<'_, S> {
        SeqIter::new(&self.head, self.len)
    }

    /// The first `len` members, shared.
    fn seq(&self) -> Seq<S> {
        Seq {
            head: Arc::clone(&self.head),
            len: self.len,
        }
    }
}

/// A shared, immutable view of the first `len` members of a container.
struct Seq<S> {
    head: Arc<Chunk<S>>,
    len: usize,
}

impl<S> Clone for Seq<S> {
    fn clone(&self) -> Self {
        Seq {
            head: Arc::clone(&self.head),
            len: self.len,
        }
    }
}

impl<S: Slot> Seq<S> {
    fn iter(&self) -> SeqIter<'_, S> {
        SeqIter::new(&self.head, self.len)
    }
}

struct SeqIter<'a, S> {
    chunk: Option<&'a Chunk<S>>,
    index: usize,
    remaining: usize,
}

impl<'a, S> SeqIter<'a, S> {
    /// The first `len` slots of the log that starts at `head`.
    fn new(head: &'a Chunk<S>, len: usize) -> Self {
        SeqIter {
            chunk: Some(head),
            index: 0,
            remaining: len,
        }
    }
}

impl<'a, S: Slot> Iterator for SeqIter<'a, S> {
    type Item = S::Read<'a>;

    fn next(&mut self) -> Option<S::Read<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let mut chunk = self.chunk?;
        if self.index >= chunk.slots.len() {
            chunk = chunk.next.get()?;
            self.chunk = Some(chunk);
            self.index = 0;
        }
        let item = chunk.slots.get(self.index)?.read()?;
        self.index += 1;
        self.remaining -= 1;
        Some(item)
    }
}

// ---------------------------------------------------------------------------------------------
// Values.
// ---------------------------------------------------------------------------------------------

/// A completed value. It owns nothing (a container's members are in the logs of the level
/// below, a long string in the string log).
#[derive(Clone, Copy)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// A string of up to [`Short::MAX`] bytes, in the node itself (no allocation: most
    /// values of a document are short, and a long document's tree is freed at its end).
    Short(Short),
    /// A longer string: its index in the parser's string log.
    Str(usize),
    /// A complete array: its members are `span` of the array log one level deeper.
    Array(Span),
    /// A complete object: its members are `span` of the object log one level deeper.
    Object(Span),
}

/// A member of an object: its key (an index in the parser's key log) and its value.
type ObjectMember = (usize, Node);

/// A string of the key log or the string log.
type Text = OnceLock<Arc<str>>;

/// A log slot holding a [`Node`] as four words (a tag, then the variant's data). A node owns
/// nothing (a long string or a key is an index into a log of its own), so a chunk of these
/// is freed without reading its slots, as a chunk of `OnceLock`s must be: at the end of a
/// long document, its tree would otherwise be read twice from memory.
struct NodeSlot([AtomicU64; 4]);

/// A log slot holding an [`ObjectMember`]: the key's index, then the node.
struct MemberSlot {
    key: AtomicU64,
    node: NodeSlot,
}

impl Node {
    /// The node as four words; the first byte is its tag, never 0 (an empty slot).
    fn pack(&self) -> [u64; 4] {
        let mut bytes = [0u8; 32];
        let (tag, a, b) = match *self {
            Node::Null => (1, 0, 0),
            Node::Bool(v) => (2, u64::from(v), 0),
            Node::Int(v) => (3, u64::from_ne_bytes(v.to_ne_bytes()), 0),
            Node::UInt(v) => (4, v, 0),
            Node::Float(v) => (5, v.to_bits(), 0),
            Node::Short(short) => {
                bytes[0] = 6;
                bytes[1] = short.len;
                bytes[2..].copy_from_slice(&short.bytes);
                return words(&bytes);
            }
            Node::Str(index) => (7, index as u64, 0),
            Node::Array(span) => (8, span.start as u64, span.len as u64),
            Node::Object(span) => (9, span.start as u64, span.len as u64),
        };
        bytes[0] = tag;
        bytes[8..16].copy_from_slice(&a.to_le_bytes());
        bytes[16..24].copy_from_slice(&b.to_le_bytes());
        words(&bytes)
    }

    /// The node [`pack`](Self::pack) made, or `None` for an empty slot.
    fn unpack(packed: [u64; 4]) -> Option<Node> {
        let a = packed[1];
        let index = |word: u64| usize::try_from(word).ok();
        // The tag is the first byte, the low byte of the first little-endian word.
        Some(match packed[0].to_le_bytes()[0] {
            1 => Node::Null,
            2 => Node::Bool(a != 0),
            3 => Node::Int(i64::from_ne_bytes(a.to_ne_bytes())),
            4 => Node::UInt(a),
            5 => Node::Float(f64::from_bits(a)),
            6 => {
                let mut bytes = [0u8; 32];
                for (to, word) in bytes.chunks_exact_mut(8).zip(packed) {
                    to.copy_from_slice(&word.to_le_bytes());
                }
                let mut short = Short {
                    len: bytes[1],
                    bytes: [0; Short::MAX],
                };
                short.bytes.copy_from_slice(&bytes[2..]);
                Node::Short(short)
            }
            7 => Node::Str(index(a)?),
            8 => Node::Array(Span {
                start: index(a)?,
                len: index(packed[2])?,
            }),
            9 => Node::Object(Span {
                start: index(a)?,
                len: index(packed[2])?,
            }),
            _ => return None,
        })
    }
}

/// 32 bytes as four little-endian words.
fn words(bytes: &[u8; 32]) -> [u64; 4] {
    let mut words = [0u64; 4];
    for (word, from) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut le = [0u8; 8];
        le.copy_from_slice(from);
        *word = u64::from_le_bytes(le);
    }
    words
}

// Slots are read only below a length published after they were written (a snapshot, or the
// parser itself), and a snapshot reaches another thread through a synchronising hand-over:
// the tag's release store and acquire load are for a reader that raced anyway.
impl Slot for NodeSlot {
    type Item = Node;
    type Read<'a> = Node;
    fn empty() -> Self {
        NodeSlot(Default::default())
    }
    fn put(&self, node: Node) {
        let [tag, a, b, c] = node.pack();
        self.0[1].store(a, Ordering::Relaxed);
        self.0[2].store(b, Ordering::Relaxed);
        self.0[3].store(c, Ordering::Relaxed);
        self.0[0].store(tag, Ordering::Release);
    }
    fn read(&self) -> Option<Node> {
        let tag = self.0[0].load(Ordering::Acquire);
        let [_, a, b, c] = &self.0;
        Node::unpack([
            tag,
            a.load(Ordering::Relaxed),
            b.load(Ordering::Relaxed),
            c.load(Ordering::Relaxed),
        ])
    }
}

impl Slot for MemberSlot {
    type Item = ObjectMember;
    type Read<'a> = ObjectMember;
    fn empty() -> Self {
        MemberSlot {
            key: AtomicU64::new(0),
            node: NodeSlot::empty(),
        }
    }
    fn put(&self, (key, node): ObjectMember) {
        self.key.store(key as u64, Ordering::Relaxed);
        self.node.put(node);
    }
    fn read(&self) -> Option<ObjectMember> {
        let node = self.node.read()?;
        let key = usize::try_from(self.key.load(Ordering::Relaxed)).ok()?;
        Some((key, node))
    }
}

// Nothing in a chunk of nodes or members needs dropping (see `NodeSlot`).
const _: () = assert!(!std::mem::needs_drop::<NodeSlot>() && !std::mem::needs_drop::<MemberSlot>());

/// Where a container's members are in the log of their level: containers at one level of
/// nesting are open one after another, so each one's members are contiguous in that log.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    len: usize,
}

/// The members of every array and every object at one level of nesting, in the order they
/// were read: one append-only log per kind and level instead of storage per container, so a
/// long document's tree is a few sequential buffers (written, read and freed in order) and
/// not one allocation per object.
struct LevelLog {
    arrays: Writer<NodeSlot>,
    objects: Writer<MemberSlot>,
}

/// The first chunks of a level's logs, for readers (a snapshot, or the parser's own
/// [`finish`](PartialJson::finish)): chunks are never moved, so these never change.
struct LevelHeads {
    arrays: Arc<Chunk<NodeSlot>>,
    objects: Arc<Chunk<MemberSlot>>,
}

// A short string fits where the other variants keep their data: a node stays 32 bytes.
const _: () = assert!(std::mem::size_of::<Node>() <= 32);

/// A short string's bytes.
#[derive(Clone, Copy)]
struct Short {
    len: u8,
    bytes: [u8; Short::MAX],
}

impl Short {
    const MAX: usize = 30;

    fn new(text: &str) -> Option<Short> {
        let mut bytes = [0; Short::MAX];
        bytes
            .get_mut(..text.len())?
            .copy_from_slice(text.as_bytes());
        Some(Short {
            len: text.len() as u8,
            bytes,
        })
    }

    fn as_str(&self) -> &str {
        // Always the bytes of a `&str` (`new`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// A reading position in one log: moves forward only (a tree is read in document order, in
/// which each level's containers come one after another).
struct Cursor<'a, S> {
    head: &'a Chunk<S>,
    chunk: &'a Chunk<S>,
    /// Index of `chunk`'s first slot in the log.
    chunk_base: usize,
    /// Index of the next slot to read.
    pos: usize,
}

impl<'a, S: Slot> Cursor<'a, S> {
    fn new(head: &'a Chunk<S>) -> Self {
        Cursor {
            head,
            chunk: head,
            chunk_base: 0,
            pos: 0,
        }
    }

    /// Moves to slot `at`: forward from here, or from the start of the log if `at` is behind
    /// (never, for a tree read in document order).
    fn seek(&mut self, at: usize) {
        if at < self.pos {
            self.chunk = self.head;
            self.chunk_base = 0;
        }
        self.pos = at;
        while self.pos - self.chunk_base >= self.chunk.slots.len() {
            let Some(next) = self.chunk.next.get() else {
                return;
            };
            self.chunk_base += self.chunk.slots.len();
            self.chunk = next;
        }
    }

    /// The slot at the position, then the position moves on. Every slot a span covers was
    /// written before the span was made, so this is `None` only for a slot past the log.
    fn next(&mut self) -> Option<S::Read<'a>> {
        self.seek(self.pos);
        let item = self.chunk.slots.get(self.pos - self.chunk_base)?.read()?;
        self.pos += 1;
        Some(item)
    }
}

/// Builds values from a tree: one cursor per level and kind, and the keys and long strings
/// by index.
struct Reader<'a> {
    levels: Vec<(Cursor<'a, NodeSlot>, Cursor<'a, MemberSlot>)>,
    keys: Vec<&'a str>,
    strings: Vec<&'a str>,
}

impl<'a> Reader<'a> {
    fn new(
        heads: impl Iterator<Item = (&'a Chunk<NodeSlot>, &'a Chunk<MemberSlot>)>,
        keys: SeqIter<'a, Text>,
        strings: SeqIter<'a, Text>,
    ) -> Self {
        Reader {
            levels: heads
                .map(|(arrays, objects)| (Cursor::new(arrays), Cursor::new(objects)))
                .collect(),
            keys: keys.map(|key| &**key).collect(),
            strings: strings.map(|string| &**string).collect(),
        }
    }

    /// The key at `index` in the key log (every member's key was written before it).
    fn key(&self, index: usize) -> &'a str {
        self.keys.get(index).copied().unwrap_or_default()
    }

    /// The long string at `index` in the string log (written before the node naming it).
    fn string(&self, index: usize) -> &'a str {
        self.strings.get(index).copied().unwrap_or_default()
    }

    /// The members of an array at `level`.
    fn items(&mut self, level: usize, span: Span, extra: usize) -> Vec<Value> {
        let mut items = Vec::with_capacity(span.len + extra);
        if let Some((cursor, _)) = self.levels.get_mut(level) {
            cursor.seek(span.start);
        }
        for _ in 0..span.len {
            let Some(node) = self.levels.get_mut(level).and_then(|(c, _)| c.next()) else {
                break;
            };
            items.push(self.value(&node, level + 1));
        }
        items
    }

    /// The members of an object at `level`.
    fn members(&mut self, level: usize, span: Span, extra: usize) -> Map<String, Value> {
        let mut map = Map::with_capacity(span.len + extra);
        if let Some((_, cursor)) = self.levels.get_mut(level) {
            cursor.seek(span.start);
        }
        for _ in 0..span.len {
            let Some((key, node)) = self.levels.get_mut(level).and_then(|(_, c)| c.next()) else {
                break;
            };
            let value = self.value(&node, level + 1);
            map.insert(self.key(key).to_owned(), value);
        }
        map
    }

    /// The value of `node`, a member of a container one level above `level` (or the
    /// top-level value, at level 0).
    fn value(&mut self, node: &Node, level: usize) -> Value {
        match node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(i) => Value::Number((*i).into()),
            Node::UInt(u) => Value::Number((*u).into()),
            // Floats are checked to be finite when they are parsed.
            Node::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Node::Short(s) => Value::String(s.as_str().to_owned()),
            Node::Str(index) => Value::String(self.string(*index).to_owned()),
            Node::Array(span) => Value::Array(self.items(level, *span, 0)),
            Node::Object(span) => Value::Object(self.members(level, *span, 0)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------------------------

/// What went wrong, named as jiter (and serde_json) name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PartialJsonErrorKind {
    /// The text ends inside a top-level string (partial mode accepts that only inside a
    /// container, where the string is dropped).
    EofWhileParsingString,
    /// The text ends inside a top-level literal or number, or is empty.
    EofWhileParsingValue,
    /// The text ends inside an array ([`PartialJson::finish`] only).
    EofWhileParsingList,
    /// The text ends inside an object ([`PartialJson::finish`] only).
    EofWhileParsingObject,
    /// A character that cannot start a JSON value.
    ExpectedSomeValue,
    /// A key not followed by `:`.
    ExpectedColon,
    /// An array element not followed by `,` or `]` ([`PartialJson::finish`] only: partial mode
    /// closes the array there).
    ExpectedListCommaOrEnd,
    /// An object member not followed by `,` or `}` ([`PartialJson::finish`] only).
    ExpectedObjectCommaOrEnd,
    /// A misspelled `true`, `false` or `null`.
    ExpectedSomeIdent,
    /// An object key that is not a string.
    KeyMustBeAString,
    /// A `,` directly before `]` or `}`.
    TrailingComma,
    /// A malformed number, such as `01`, `1.x` or `-a`.
    InvalidNumber,
    /// A number that is too long (more than 4300 integer digits) or whose value is infinite.
    NumberOutOfRange,
    /// A backslash escape that is not valid JSON.
    InvalidEscape,
    /// A `\u` escape of a lone UTF-16 surrogate.
    LoneSurrogateInHexEscape,
    /// A high surrogate escape not followed by a `\u` escape.
    UnexpectedEndOfHexEscape,
    /// A raw control character (below U+0020) inside a string.
    ControlCharacterWhileParsingString,
    /// Arrays and objects nested more than [`MAX_DEPTH`] levels deep.
    RecursionLimitExceeded,
    /// Non-whitespace text after the complete value ([`PartialJson::finish`] only).
    TrailingCharacters,
}

impl fmt::Display for PartialJsonErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PartialJsonErrorKind::*;
        f.write_str(match self {
            EofWhileParsingString => "EOF while parsing a string",
            EofWhileParsingValue => "EOF while parsing a value",
            EofWhileParsingList => "EOF while parsing a list",
            EofWhileParsingObject => "EOF while parsing an object",
            ExpectedSomeValue => "expected value",
            ExpectedColon => "expected `:`",
            ExpectedListCommaOrEnd => "expected `,` or `]`",
            ExpectedObjectCommaOrEnd => "expected `,` or `}`",
            ExpectedSomeIdent => "expected ident",
            KeyMustBeAString => "key must be a string",
            TrailingComma => "trailing comma",
            InvalidNumber => "invalid number",
            NumberOutOfRange => "number out of range",
            InvalidEscape => "invalid escape",
            LoneSurrogateInHexEscape => "lone leading surrogate in hex escape",
            UnexpectedEndOfHexEscape => "unexpected end of hex escape",
            ControlCharacterWhileParsingString => {
                "control character (\\u0000-\\u001F) found while parsing a string"
            }
            RecursionLimitExceeded => "recursion limit exceeded",
            TrailingCharacters => "trailing characters",
        })
    }
}

/// Content that does not parse as (partial) JSON; the equivalent of the reference's
/// `JSONDecodeError`. It says where: a byte offset into the whole text pushed so far, and a
/// 1-based line and column (the column counts bytes, as jiter does).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at line {line} column {column} (byte {offset})")]
pub struct PartialJsonError {
    kind: PartialJsonErrorKind,
    offset: usize,
    line: usize,
    column: usize,
}

impl PartialJsonError {
    /// What went wrong.
    pub fn kind(&self) -> PartialJsonErrorKind {
        self.kind
    }

    /// Byte offset of the error in the whole text.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// 1-based line of the error.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column of the error, in bytes.
    pub fn column(&self) -> usize {
        self.column
    }

    /// Whether more text could still make the content parse: the text so far ends inside a
    /// top-level scalar (or, for [`PartialJson::finish`], inside any value).
    ///
    /// ```
    /// use openai_sdk::parsing::PartialJson;
    ///
    /// let mut p = PartialJson::new();
    /// p.push(r#""abc"#);
    /// assert!(p.value().unwrap_err().is_incomplete());
    /// p.push(r#"" and more"#);
    /// assert_eq!(p.value().unwrap(), Some(serde_json::json!("abc")));
    /// ```
    pub fn is_incomplete(&self) -> bool {
        use PartialJsonErrorKind::*;
        matches!(
            self.kind,
            EofWhileParsingString
                | EofWhileParsingValue
                | EofWhileParsingList
                | EofWhileParsingObject
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The parser.
// ---------------------------------------------------------------------------------------------

/// Where an open container is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// After `[`.
    ArrayFirst,
    /// After `,` in an array.
    ArrayAfterComma,
    /// After `{`.
    ObjectFirst,
    /// After `,` in an object.
    ObjectAfterComma,
    /// After a key.
    Colon,
    /// After `:`.
    ObjectValue,
    /// A member is being parsed (a token, or a nested container above this one).
    InValue,
    /// After a complete member.
    AfterValue,
}

enum Members {
    Array,
    Object {
        /// The key of the member being parsed, once complete (its index in the key log).
        key: Option<usize>,
    },
}

struct Frame {
    members: Members,
    /// Where the container's members are in the log of its level.
    span: Span,
    expect: Expect,
    /// Whether the first member has started (jiter checks the nesting limit then).
    started: bool,
}

/// The escape state inside a string.
#[derive(Clone, Copy, Debug)]
enum Escape {
    None,
    /// After `\`.
    Backslash,
    /// Collecting the 4 bytes after `\u` (jiter looks at them only once all 4 are there).
    Hex {
        high: Option<u16>,
        value: u16,
        count: u8,
        /// Absolute offset of the first byte that is not a hex digit.
        bad: Option<usize>,
    },
    /// After a high surrogate escape, before the `\` of its low half.
    AfterHigh(u16),
    /// After a high surrogate escape and `\`.
    AfterHighBackslash(u16),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NumPhase {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

impl NumPhase {
    /// Whether the number is valid if it ends here.
    fn is_valid_end(self) -> bool {
        matches!(
            self,
            NumPhase::Zero | NumPhase::Int | NumPhase::Frac | NumPhase::ExpDigits
        )
    }
}

/// The scalar being lexed; its text (decoded for strings) is in `PartialJson::scratch`.
#[derive(Clone, Copy, Debug)]
enum Token {
    None,
    Str {
        key: bool,
        escape: Escape,
    },
    Lit {
        rest: &'static [u8],
        matched: usize,
        node: LitNode,
    },
    Num {
        phase: NumPhase,
        int_digits: usize,
        float: bool,
    },
}

#[derive(Clone, Copy, Debug)]
enum LitNode {
    True,
    False,
    Null,
}

enum Top {
    /// Nothing but whitespace yet.
    Empty,
    /// A value is in progress (a top-level token, or the containers on the stack).
    InValue,
    /// The top-level value is complete; the rest of the text is ignored.
    Done(Node),
    /// The text is not JSON.
    Failed(PartialJsonError),
}

/// An incremental partial JSON parser; see the [module documentation](crate::parsing#partial-json)
/// for the exact semantics and the cost model.
///
/// ```
/// use openai_sdk::parsing::PartialJson;
/// use serde_json::json;
///
/// let mut p = PartialJson::new();
/// assert_eq!(p.value().unwrap(), None);
/// for delta in ["[1, tr", "ue, {\"a\": [\"x", "\"]}, 4", "2"] {
///     p.push(delta);
/// }
/// assert_eq!(p.value().unwrap(), Some(json!([1, true, {"a": ["x"]}, 42])));
/// ```
pub struct PartialJson {
    stack: Vec<Frame>,
    /// The members of the containers at each level of nesting (`stack[i]`'s in `logs[i]`).
    logs: Vec<LevelLog>,
    /// The first chunks of `logs`, shared with snapshots.
    heads: Writer<OnceLock<LevelHeads>>,
    /// Object keys, each kept once while objects repeat it ([`KeyCache`]); members name
    /// theirs by index.
    key_log: Writer<Text>,
    /// Strings longer than a node holds, by index.
    strings: Writer<Text>,
    token: Token,
    top: Top,
    /// Decoded text of the string, or text of the number, being lexed.
    scratch: String,
    /// Bytes consumed before the current delta.
    offset: usize,
    /// Current 1-based line, and the offset its first byte has.
    line: usize,
    line_start: usize,
    /// The first place where partial mode closed a container on an unexpected character
    /// (invalid JSON that partial mode accepts), for `finish`.
    lenient: Option<PartialJsonError>,
    /// The first non-whitespace byte after a complete top-level value, for `finish`.
    trailing: Option<PartialJsonError>,
    /// Recently seen keys, shared between objects of the same shape.
    keys: KeyCache,
    /// The deepest nesting of arrays and objects seen (for `finish_as_serde_json`).
    deepest: usize,
    /// An integer `-0` was read: jiter reads it as `0`, `serde_json` as the float `-0.0`.
    negative_zero: bool,
}

/// Objects in an array usually have the same keys in the same order: the key at a given depth
/// and position is kept, and reused (instead of logging it again) when the next one matches.
#[derive(Default)]
struct KeyCache {
    /// `[depth][position]`.
    slots: Vec<Vec<Option<CachedKey>>>,
}

/// A key and its index in the key log.
type CachedKey = (usize, Arc<str>);

impl KeyCache {
    const MAX_POSITION: usize = 32;

    /// The index of `text` in `log`: a cached one, or a new entry.
    fn intern(
        &mut self,
        log: &mut Writer<Text>,
        depth: usize,
        position: usize,
        text: &str,
    ) -> usize {
        let add = |log: &mut Writer<Text>| {
            let key: Arc<str> = Arc::from(text);
            log.push(Arc::clone(&key));
            (log.len - 1, key)
        };
        if position >= Self::MAX_POSITION {
            return add(log).0;
        }
        if self.slots.len() <= depth {
            self.slots.resize_with(depth + 1, Vec::new);
        }
        let Some(row) = self.slots.get_mut(depth) else {
            return add(log).0;
        };
        if row.len() <= position {
            row.resize(position + 1, None);
        }
        match row.get_mut(position) {
            Some(Some((index, cached))) if &**cached == text => *index,
            Some(slot) => {
                let (index, key) = add(log);
                *slot = Some((index, key));
                index
            }
            None => add(log).0,
        }
    }
}

impl Default for PartialJson {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PartialJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartialJson")
            .field("bytes", &self.offset)
            .field("depth", &self.stack.len())
            .field("complete", &self.is_complete())
            .field("failed", &matches!(self.top, Top::Failed(_)))
            .finish_non_exhaustive()
    }
}

/// Parse one text as jiter's partial mode would: `Ok(None)` for empty or whitespace-only
/// text. The same as pushing the text into a new [`PartialJson`] and calling
/// [`value`](PartialJson::value).
///
/// ```
/// use openai_sdk::parsing::partial_parse;
/// use serde_json::json;
///
/// assert_eq!(partial_parse(r#"{"a": [1, 2.5, "thr"#).unwrap(), Some(json!({"a": [1, 2.5]})));
/// assert_eq!(partial_parse("  ").unwrap(), None);
/// assert!(partial_parse(r#"{"a" 1}"#).is_err());
/// ```
pub fn partial_parse(text: &str) -> Result<Option<Value>, PartialJsonError> {
    let mut parser = PartialJson::new();
    parser.push(text);
    parser.value()
}

/// Internal error: kind and absolute offset.
type Fail = (PartialJsonErrorKind, usize);

/// What a token did with the input.
enum Lexed {
    /// The token needs more input; everything was consumed.
    More,
    /// The token ended; the next byte to look at is at this index.
    Done(usize),
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn hex_value(b: u8) -> Option<u16> {
    match b {
        b'0'..=b'9' => Some(u16::from(b - b'0')),
        b'a'..=b'f' => Some(u16::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u16::from(b - b'A' + 10)),
        _ => None,
    }
}

/// Bytes that stop the fast scan inside a string: `"`, `\` and control characters.
static STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The number's value from its (valid JSON) text.
fn number_node(text: &str, float: bool) -> Result<Node, PartialJsonErrorKind> {
    if !float {
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Node::Int(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Ok(Node::UInt(u));
        }
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Node::Float(f)),
        _ => Err(PartialJsonErrorKind::NumberOutOfRange),
    }
}

impl PartialJson {
    /// An empty parser.
    pub fn new() -> Self {
        PartialJson {
            stack: Vec::new(),
            logs: Vec::new(),
            heads: Writer::new(),
            key_log: Writer::new(),
            strings: Writer::new(),
            token: Token::None,
            top: Top::Empty,
            scratch: String::new(),
            offset: 0,
            line: 1,
            line_start: 0,
            lenient: None,
            trailing: None,
            keys: KeyCache::default(),
            deepest: 0,
            negative_zero: false,
        }
    }

    /// Feed the next piece of text. Only `delta` is examined: the cost is O(`delta.len()`),
    /// amortised. Errors are reported by [`value`](Self::value), [`snapshot`](Self::snapshot)
    /// and [`finish`](Self::finish); after an error, or once the top-level value is complete,
    /// further text is only checked for being whitespace.
    pub fn push(&mut self, delta: &str) {
        match self.top {
            Top::Failed(_) => {}
            Top::Done(_) => self.scan_trailing(delta.as_bytes(), self.offset),
            Top::Empty | Top::InValue => {
                if let Err((kind, at)) = self.feed(delta) {
                    let error = self.error_at(kind, at);
                    self.top = Top::Failed(error);
                    self.token = Token::None;
                    self.stack.clear();
                    self.scratch = String::new();
                }
            }
        }
        self.offset += delta.len();
    }

    /// Total number of bytes pushed.
    pub fn len(&self) -> usize {
        self.offset
    }

    /// Whether nothing has been pushed (or only empty deltas).
    pub fn is_empty(&self) -> bool {
        self.offset == 0
    }

    /// Whether the top-level value is complete (the rest of the text is ignored), e.g. after
    /// the closing `}` of the top-level object. A top-level number is complete only once a
    /// character after it has been seen.
    pub fn is_complete(&self) -> bool {
        matches!(self.top, Top::Done(_))
    }

    /// What jiter's partial mode returns for all the text pushed so far: `Ok(None)` while it is
    /// empty or whitespace only. O(depth) for the snapshot plus O(size) to build the value.
    pub fn value(&self) -> Result<Option<Value>, PartialJsonError> {
        Ok(self.snapshot()?.map(|s| s.to_value()))
    }

    /// A cheap, immutable capture of the partial value as it is now (O(depth)): later pushes
    /// don't change it. `Ok(None)` while the text is empty or whitespace only.
    ///
    /// ```
    /// use openai_sdk::parsing::PartialJson;
    /// use serde_json::json;
    ///
    /// let mut p = PartialJson::new();
    /// p.push(r#"{"items": [1, 2"#);
    /// let before = p.snapshot().unwrap().unwrap();
    /// p.push(r#", 3]}"#);
    /// assert_eq!(before.to_value(), json!({"items": [1, 2]}));
    /// assert_eq!(p.value().unwrap(), Some(json!({"items": [1, 2, 3]})));
    /// ```
    pub fn snapshot(&self) -> Result<Option<PartialSnapshot>, PartialJsonError> {
        match &self.top {
            Top::Failed(e) => Err(e.clone()),
            Top::Empty => Ok(None),
            Top::Done(node) => Ok(Some(self.capture(Vec::new(), Some(*node), true))),
            Top::InValue => {
                let tip = self.pending_tip()?;
                if self.stack.is_empty() {
                    return match tip {
                        Some(node) => Ok(Some(self.capture(Vec::new(), Some(node), false))),
                        None => Err(self.eof_error(self.top_level_eof_kind())),
                    };
                }
                let levels = self
                    .stack
                    .iter()
                    .map(|frame| match &frame.members {
                        Members::Array => Level::Array(frame.span),
                        Members::Object { key } => Level::Object(frame.span, *key),
                    })
                    .collect();
                Ok(Some(self.capture(levels, tip, false)))
            }
        }
    }

    /// The strict parse of the whole text, for the end of a stream: the complete value, or an
    /// error if the text is incomplete, has non-whitespace text after the value, or is JSON
    /// that only partial mode accepts (such as `[1 2]`). Equivalent to jiter (or `serde_json`)
    /// parsing the whole text with partial mode off; an error says where.
    ///
    /// ```
    /// use openai_sdk::parsing::PartialJson;
    ///
    /// let mut p = PartialJson::new();
    /// p.push("[1, 2");
    /// assert!(p.finish().unwrap_err().is_incomplete());
    /// p.push("] x");
    /// assert_eq!(p.value().unwrap(), Some(serde_json::json!([1, 2])));
    /// assert_eq!(p.finish().unwrap_err().to_string(), "trailing characters at line 1 column 8 (byte 7)");
    /// ```
    pub fn finish(&self) -> Result<Value, PartialJsonError> {
        match &self.top {
            Top::Failed(e) => Err(e.clone()),
            Top::Empty => Err(self.eof_error(PartialJsonErrorKind::EofWhileParsingValue)),
            Top::InValue => {
                if let Some(e) = &self.lenient {
                    return Err(e.clone());
                }
                match (self.stack.last(), self.pending_tip()?) {
                    (None, Some(node)) => Ok(self.reader().value(&node, 0)),
                    (None, None) => Err(self.eof_error(self.top_level_eof_kind())),
                    (Some(frame), _) => Err(self.eof_error(match (&frame.members, self.token) {
                        (_, Token::Str { key: false, .. }) => {
                            PartialJsonErrorKind::EofWhileParsingString
                        }
                        (Members::Array, _) => PartialJsonErrorKind::EofWhileParsingList,
                        (Members::Object { .. }, _) => PartialJsonErrorKind::EofWhileParsingObject,
                    })),
                }
            }
            Top::Done(node) => {
                if let Some(e) = self.lenient.as_ref().or(self.trailing.as_ref()) {
                    return Err(e.clone());
                }
                Ok(self.reader().value(node, 0))
            }
        }
    }

    /// The value `serde_json::from_str::<Value>` gives for the whole text (the same numbers,
    /// key order and rule for a repeated key), built from the parser's tree without reading the
    /// text again, when the tree is known to be that value; else `None`, and the text is for
    /// `serde_json` to read (which then also says what is wrong with it). `None` when
    /// [`finish`](Self::finish) fails, while a top-level number is not yet followed by
    /// anything (its end is not known), when the text has an integer `-0` (jiter and
    /// [`finish`](Self::finish) read `0`, `serde_json` the float `-0.0`), and when arrays and
    /// objects nest deeper than `serde_json`'s limit. O(size of the value). A chat stream's
    /// state uses it at `content.done` and for a strict tool's arguments, saving a second
    /// parse of a long document.
    ///
    /// ```
    /// use openai_sdk::parsing::PartialJson;
    /// use serde_json::json;
    ///
    /// let text = r#"{"b": 1, "a": [2.5, "x"], "b": 3}"#;
    /// let mut p = PartialJson::new();
    /// p.push(text);
    /// let theirs: serde_json::Value = serde_json::from_str(text)?;
    /// assert_eq!(p.finish_as_serde_json(), Some(theirs));
    ///
    /// let mut p = PartialJson::new();
    /// p.push("[-0]");
    /// assert_eq!(p.finish().unwrap(), json!([0]));
    /// assert_eq!(p.finish_as_serde_json(), None); // serde_json reads [-0.0]
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn finish_as_serde_json(&self) -> Option<Value> {
        // serde_json rejects the 128th level of nesting.
        const SERDE_JSON_DEPTH: usize = 127;
        let vouched = matches!(self.top, Top::Done(_))
            && !self.negative_zero
            && self.deepest <= SERDE_JSON_DEPTH;
        vouched.then(|| self.finish().ok()).flatten()
    }

    // -- internals -----------------------------------------------------------------------

    /// The pending number at the end, if it is valid so far.
    fn pending_tip(&self) -> Result<Option<Node>, PartialJsonError> {
        match self.token {
            Token::Num { phase, float, .. } if phase.is_valid_end() => {
                number_node(&self.scratch, float)
                    .map(Some)
                    .map_err(|kind| self.eof_error(kind))
            }
            _ => Ok(None),
        }
    }

    fn top_level_eof_kind(&self) -> PartialJsonErrorKind {
        match self.token {
            Token::Str { .. } => PartialJsonErrorKind::EofWhileParsingString,
            _ => PartialJsonErrorKind::EofWhileParsingValue,
        }
    }

    /// An error at the end of the text.
    fn eof_error(&self, kind: PartialJsonErrorKind) -> PartialJsonError {
        PartialJsonError {
            kind,
            offset: self.offset,
            line: self.line,
            column: self.offset.saturating_sub(self.line_start) + 1,
        }
    }

    /// An error at absolute offset `at` in the delta being fed (newlines before it have been
    /// counted already: outside strings, where they are errors, they are only ever whitespace).
    fn error_at(&self, kind: PartialJsonErrorKind, at: usize) -> PartialJsonError {
        PartialJsonError {
            kind,
            offset: at,
            line: self.line,
            column: at.saturating_sub(self.line_start) + 1,
        }
    }

    /// Look for non-whitespace text after the complete value; `base` is the absolute offset of
    /// `bytes`.
    fn scan_trailing(&mut self, bytes: &[u8], base: usize) {
        if self.trailing.is_some() {
            return;
        }
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                self.line += 1;
                self.line_start = base + i + 1;
            } else if !is_ws(b) {
                self.trailing =
                    Some(self.error_at(PartialJsonErrorKind::TrailingCharacters, base + i));
                return;
            }
        }
    }

    /// Store a completed value in the innermost container, or as the top-level value.
    fn complete_value(&mut self, node: Node) {
        let level = self.stack.len().wrapping_sub(1);
        let Some(frame) = self.stack.last_mut() else {
            self.top = Top::Done(node);
            return;
        };
        // Every open container's level has its log (`open_container`).
        if let Some(log) = self.logs.get_mut(level) {
            match &mut frame.members {
                Members::Array => {
                    log.arrays.push(node);
                    frame.span.len += 1;
                }
                Members::Object { key } => {
                    if let Some(key) = key.take() {
                        log.objects.push((key, node));
                        frame.span.len += 1;
                    }
                }
            }
        }
        frame.expect = Expect::AfterValue;
    }

    /// Close the innermost container and store it in its parent.
    fn close_container(&mut self) {
        if let Some(frame) = self.stack.pop() {
            let node = match frame.members {
                Members::Array => Node::Array(frame.span),
                Members::Object { .. } => Node::Object(frame.span),
            };
            self.complete_value(node);
        }
    }

    /// Open an array or an object at the next level: its members start at the end of that
    /// level's log (made the first time the level is reached).
    fn open_container(&mut self, members: Members, expect: Expect) {
        let start = match (&members, self.logs.get(self.stack.len())) {
            (Members::Array, Some(log)) => log.arrays.len,
            (Members::Object { .. }, Some(log)) => log.objects.len,
            (_, None) => {
                // The first container at this level (levels are reached one at a time).
                let log = LevelLog {
                    arrays: Writer::new(),
                    objects: Writer::new(),
                };
                self.heads.push(LevelHeads {
                    arrays: Arc::clone(&log.arrays.head),
                    objects: Arc::clone(&log.objects.head),
                });
                self.logs.push(log);
                0
            }
        };
        self.stack.push(Frame {
            members,
            span: Span { start, len: 0 },
            expect,
            started: false,
        });
        self.deepest = self.deepest.max(self.stack.len());
    }

    /// A snapshot of the open containers `levels` and the member in progress `tip`, sharing
    /// the logs as they are now.
    fn capture(&self, levels: Vec<Level>, tip: Option<Node>, complete: bool) -> PartialSnapshot {
        PartialSnapshot {
            heads: self.heads.seq(),
            keys: self.key_log.seq(),
            strings: self.strings.seq(),
            levels,
            tip,
            complete,
        }
    }

    /// Builds values from this parser's tree.
    fn reader(&self) -> Reader<'_> {
        Reader::new(
            self.logs
                .iter()
                .map(|log| (&*log.arrays.head, &*log.objects.head)),
            self.key_log.iter(),
            self.strings.iter(),
        )
    }

    /// Start a value whose first byte is `c` at index `i`; returns the next index.
    fn begin_value(&mut self, c: u8, i: usize, abs: usize) -> Result<usize, Fail> {
        match c {
            b'"' => {
                self.scratch.clear();
                self.token = Token::Str {
                    key: false,
                    escape: Escape::None,
                };
            }
            b'[' => self.open_container(Members::Array, Expect::ArrayFirst),
            b'{' => self.open_container(Members::Object { key: None }, Expect::ObjectFirst),
            b't' => {
                self.token = Token::Lit {
                    rest: b"rue",
                    matched: 0,
                    node: LitNode::True,
                }
            }
            b'f' => {
                self.token = Token::Lit {
                    rest: b"alse",
                    matched: 0,
                    node: LitNode::False,
                }
            }
            b'n' => {
                self.token = Token::Lit {
                    rest: b"ull",
                    matched: 0,
                    node: LitNode::Null,
                }
            }
            b'-' | b'0'..=b'9' => {
                self.scratch.clear();
                self.scratch.push(char::from(c));
                let phase = match c {
                    b'-' => NumPhase::Minus,
                    b'0' => NumPhase::Zero,
                    _ => NumPhase::Int,
                };
                self.token = Token::Num {
                    phase,
                    int_digits: usize::from(phase != NumPhase::Minus),
                    float: false,
                };
            }
            _ => return Err((PartialJsonErrorKind::ExpectedSomeValue, abs)),
        }
        Ok(i + 1)
    }

    /// The start of a container's member: checks the nesting limit for its first member.
    fn start_member(&mut self, abs: usize) -> Result<(), Fail> {
        let depth = self.stack.len();
        if let Some(frame) = self.stack.last_mut() {
            if !frame.started {
                if depth > MAX_DEPTH {
                    return Err((PartialJsonErrorKind::RecursionLimitExceeded, abs));
                }
                frame.started = true;
            }
            frame.expect = Expect::InValue;
        }
        Ok(())
    }

    fn feed(&mut self, s: &str) -> Result<(), Fail> {
        let bytes = s.as_bytes();
        let base = self.offset;
        let mut i = 0;
        loop {
            // Continue the token in progress.
            match self.token {
                Token::None => {}
                Token::Str { .. } => match self.lex_string(s, i, base)? {
                    Lexed::More => return Ok(()),
                    Lexed::Done(next) => {
                        i = next;
                        let key = matches!(self.token, Token::Str { key: true, .. });
                        self.token = Token::None;
                        if key {
                            let depth = self.stack.len();
                            if let Some(frame) = self.stack.last_mut() {
                                if let Members::Object { key } = &mut frame.members {
                                    *key = Some(self.keys.intern(
                                        &mut self.key_log,
                                        depth,
                                        frame.span.len,
                                        &self.scratch,
                                    ));
                                }
                                frame.expect = Expect::Colon;
                            }
                        } else {
                            let node = match Short::new(&self.scratch) {
                                Some(short) => Node::Short(short),
                                None => {
                                    self.strings.push(Arc::from(self.scratch.as_str()));
                                    Node::Str(self.strings.len - 1)
                                }
                            };
                            self.complete_value(node);
                        }
                    }
                },
                Token::Num { .. } => match self.lex_number(bytes, i, base)? {
                    Lexed::More => return Ok(()),
                    Lexed::Done(next) => {
                        i = next;
                        let Token::Num { float, .. } = self.token else {
                            return Ok(());
                        };
                        self.token = Token::None;
                        self.negative_zero |= !float && self.scratch == "-0";
                        let node = number_node(&self.scratch, float).map_err(|k| (k, base + i))?;
                        self.complete_value(node);
                    }
                },
                Token::Lit {
                    rest,
                    matched,
                    node,
                } => {
                    let mut matched = matched;
                    while matched < rest.len() {
                        let Some(&b) = bytes.get(i) else {
                            self.token = Token::Lit {
                                rest,
                                matched,
                                node,
                            };
                            return Ok(());
                        };
                        if Some(&b) != rest.get(matched) {
                            return Err((PartialJsonErrorKind::ExpectedSomeIdent, base + i));
                        }
                        matched += 1;
                        i += 1;
                    }
                    self.token = Token::None;
                    self.complete_value(match node {
                        LitNode::True => Node::Bool(true),
                        LitNode::False => Node::Bool(false),
                        LitNode::Null => Node::Null,
                    });
                }
            }

            // Structure: skip whitespace, then act on the next byte.
            let c = loop {
                let Some(&c) = bytes.get(i) else {
                    return Ok(());
                };
                if !is_ws(c) {
                    break c;
                }
                if c == b'\n' {
                    self.line += 1;
                    self.line_start = base + i + 1;
                }
                i += 1;
            };
            let abs = base + i;
            let Some(frame) = self.stack.last_mut() else {
                match self.top {
                    Top::Empty | Top::InValue => {
                        self.top = Top::InValue;
                        i = self.begin_value(c, i, abs)?;
                        continue;
                    }
                    Top::Done(_) | Top::Failed(_) => {
                        // Text after the complete value is ignored.
                        self.scan_trailing(bytes.get(i..).unwrap_or(&[]), abs);
                        return Ok(());
                    }
                }
            };
            let is_array = matches!(frame.members, Members::Array);
            match frame.expect {
                Expect::ArrayFirst => {
                    if c == b']' {
                        i += 1;
                        self.close_container();
                    } else {
                        self.start_member(abs)?;
                        i = self.begin_value(c, i, abs)?;
                    }
                }
                Expect::ArrayAfterComma => {
                    if c == b']' {
                        return Err((PartialJsonErrorKind::TrailingComma, abs));
                    }
                    self.start_member(abs)?;
                    i = self.begin_value(c, i, abs)?;
                }
                Expect::ObjectFirst | Expect::ObjectAfterComma => match c {
                    b'"' => {
                        i += 1;
                        self.scratch.clear();
                        self.token = Token::Str {
                            key: true,
                            escape: Escape::None,
                        };
                    }
                    b'}' if frame.expect == Expect::ObjectFirst => {
                        i += 1;
                        self.close_container();
                    }
                    b'}' => return Err((PartialJsonErrorKind::TrailingComma, abs)),
                    _ => return Err((PartialJsonErrorKind::KeyMustBeAString, abs)),
                },
                Expect::Colon => {
                    if c != b':' {
                        return Err((PartialJsonErrorKind::ExpectedColon, abs));
                    }
                    i += 1;
                    frame.expect = Expect::ObjectValue;
                }
                Expect::ObjectValue => {
                    self.start_member(abs)?;
                    i = self.begin_value(c, i, abs)?;
                }
                Expect::AfterValue => match (c, is_array) {
                    (b',', true) => {
                        i += 1;
                        frame.expect = Expect::ArrayAfterComma;
                    }
                    (b',', false) => {
                        i += 1;
                        frame.expect = Expect::ObjectAfterComma;
                    }
                    (b']', true) | (b'}', false) => {
                        i += 1;
                        self.close_container();
                    }
                    _ => {
                        // Partial mode closes the container here, and its parent looks at
                        // the same byte. Strict JSON fails here.
                        if self.lenient.is_none() {
                            let kind = if is_array {
                                PartialJsonErrorKind::ExpectedListCommaOrEnd
                            } else {
                                PartialJsonErrorKind::ExpectedObjectCommaOrEnd
                            };
                            self.lenient = Some(self.error_at(kind, abs));
                        }
                        self.close_container();
                    }
                },
                Expect::InValue => {
                    // A member is in progress only while a token or a nested container is.
                    return Err((PartialJsonErrorKind::ExpectedSomeValue, abs));
                }
            }
        }
    }

    /// Continue the string token from index `i`.
    fn lex_string(&mut self, s: &str, mut i: usize, base: usize) -> Result<Lexed, Fail> {
        let bytes = s.as_bytes();
        let Token::Str { key, mut escape } = self.token else {
            return Ok(Lexed::Done(i));
        };
        loop {
            match escape {
                Escape::None => {
                    let rest = bytes.get(i..).unwrap_or(&[]);
                    match rest.iter().position(|&b| STRING_STOP[usize::from(b)]) {
                        None => {
                            self.scratch.push_str(s.get(i..).unwrap_or(""));
                            self.token = Token::Str { key, escape };
                            return Ok(Lexed::More);
                        }
                        Some(n) => {
                            let stop = i + n;
                            // `stop` is at an ASCII byte, so a char boundary.
                            self.scratch.push_str(s.get(i..stop).unwrap_or(""));
                            match bytes.get(stop) {
                                Some(b'"') => {
                                    self.token = Token::Str { key, escape };
                                    return Ok(Lexed::Done(stop + 1));
                                }
                                Some(b'\\') => {
                                    escape = Escape::Backslash;
                                    i = stop + 1;
                                }
                                _ => {
                                    return Err((
                                        PartialJsonErrorKind::ControlCharacterWhileParsingString,
                                        base + stop,
                                    ))
                                }
                            }
                        }
                    }
                }
                Escape::Backslash => {
                    let Some(&b) = bytes.get(i) else { break };
                    let Some(decoded) = super::simple_escape(b) else {
                        if b != b'u' {
                            return Err((PartialJsonErrorKind::InvalidEscape, base + i));
                        }
                        escape = Escape::Hex {
                            high: None,
                            value: 0,
                            count: 0,
                            bad: None,
                        };
                        i += 1;
                        continue;
                    };
                    self.scratch.push(decoded);
                    escape = Escape::None;
                    i += 1;
                }
                Escape::Hex {
                    high,
                    mut value,
                    mut count,
                    mut bad,
                } => {
                    while count < 4 {
                        let Some(&b) = bytes.get(i) else {
                            self.token = Token::Str {
                                key,
                                escape: Escape::Hex {
                                    high,
                                    value,
                                    count,
                                    bad,
                                },
                            };
                            return Ok(Lexed::More);
                        };
                        match hex_value(b) {
                            Some(h) => value = (value << 4) | h,
                            None => {
                                if bad.is_none() {
                                    bad = Some(base + i);
                                }
                            }
                        }
                        count += 1;
                        i += 1;
                    }
                    if let Some(at) = bad {
                        return Err((PartialJsonErrorKind::InvalidEscape, at));
                    }
                    let at = base + i.saturating_sub(1);
                    match (high, value) {
                        (None, 0xDC00..=0xDFFF) => {
                            return Err((PartialJsonErrorKind::LoneSurrogateInHexEscape, at))
                        }
                        (None, 0xD800..=0xDBFF) => escape = Escape::AfterHigh(value),
                        (None, _) => {
                            self.scratch
                                .push(char::from_u32(u32::from(value)).unwrap_or('\u{FFFD}'));
                            escape = Escape::None;
                        }
                        (Some(high), 0xDC00..=0xDFFF) => {
                            let code = 0x1_0000
                                + ((u32::from(high) - 0xD800) << 10)
                                + (u32::from(value) - 0xDC00);
                            self.scratch
                                .push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            escape = Escape::None;
                        }
                        (Some(_), _) => {
                            return Err((PartialJsonErrorKind::LoneSurrogateInHexEscape, at))
                        }
                    }
                }
                Escape::AfterHigh(high) => {
                    let Some(&b) = bytes.get(i) else { break };
                    if b != b'\\' {
                        return Err((PartialJsonErrorKind::UnexpectedEndOfHexEscape, base + i));
                    }
                    escape = Escape::AfterHighBackslash(high);
                    i += 1;
                }
                Escape::AfterHighBackslash(high) => {
                    let Some(&b) = bytes.get(i) else { break };
                    if b != b'u' {
                        return Err((PartialJsonErrorKind::UnexpectedEndOfHexEscape, base + i));
                    }
                    escape = Escape::Hex {
                        high: Some(high),
                        value: 0,
                        count: 0,
                        bad: None,
                    };
                    i += 1;
                }
            }
        }
        self.token = Token::Str { key, escape };
        Ok(Lexed::More)
    }

    /// Continue the number token from index `i`.
    fn lex_number(&mut self, bytes: &[u8], mut i: usize, base: usize) -> Result<Lexed, Fail> {
        let Token::Num {
            mut phase,
            mut int_digits,
            mut float,
        } = self.token
        else {
            return Ok(Lexed::Done(i));
        };
        let start = i;
        let result = loop {
            let Some(&b) = bytes.get(i) else {
                break Lexed::More;
            };
            let next = match (phase, b) {
                (NumPhase::Minus, b'0') => NumPhase::Zero,
                (NumPhase::Minus, b'1'..=b'9') => NumPhase::Int,
                (NumPhase::Zero, b'0'..=b'9') => {
                    return Err((PartialJsonErrorKind::InvalidNumber, base + i))
                }
                (NumPhase::Int, b'0'..=b'9') => NumPhase::Int,
                (NumPhase::Zero | NumPhase::Int, b'.') => NumPhase::Dot,
                (NumPhase::Zero | NumPhase::Int | NumPhase::Frac, b'e' | b'E') => NumPhase::Exp,
                (NumPhase::Dot | NumPhase::Frac, b'0'..=b'9') => NumPhase::Frac,
                (NumPhase::Exp, b'+' | b'-') => NumPhase::ExpSign,
                (NumPhase::Exp | NumPhase::ExpSign | NumPhase::ExpDigits, b'0'..=b'9') => {
                    NumPhase::ExpDigits
                }
                (NumPhase::Zero | NumPhase::Int | NumPhase::Frac | NumPhase::ExpDigits, _) => {
                    break Lexed::Done(i);
                }
                (NumPhase::Minus | NumPhase::Dot | NumPhase::Exp | NumPhase::ExpSign, _) => {
                    return Err((PartialJsonErrorKind::InvalidNumber, base + i))
                }
            };
            if next == NumPhase::Int || (phase == NumPhase::Minus && next == NumPhase::Zero) {
                int_digits += 1;
                if int_digits > MAX_INT_DIGITS {
                    return Err((PartialJsonErrorKind::NumberOutOfRange, base + i));
                }
            }
            if matches!(next, NumPhase::Dot | NumPhase::Exp) {
                float = true;
            }
            phase = next;
            i += 1;
        };
        // The bytes of a number are ASCII: the slice is on char boundaries.
        if let Some(text) = bytes
            .get(start..i)
            .and_then(|b| std::str::from_utf8(b).ok())
        {
            self.scratch.push_str(text);
        }
        self.token = Token::Num {
            phase,
            int_digits,
            float,
        };
        Ok(result)
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots.
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
enum Level {
    Array(Span),
    /// The members, and the key of the member in progress if complete (its index in the
    /// key log).
    Object(Span, Option<usize>),
}

/// An immutable capture of a [`PartialJson`]'s value at one moment, taken in O(depth) by
/// [`PartialJson::snapshot`]. It shares the completed parts of the tree with the parser.
/// Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct PartialSnapshot {
    /// The first chunks of the parser's logs, one pair per level.
    heads: Seq<OnceLock<LevelHeads>>,
    /// The parser's key log and string log as they were.
    keys: Seq<Text>,
    strings: Seq<Text>,
    /// The open containers, outermost first; each holds the next.
    levels: Vec<Level>,
    /// The innermost open container's member in progress (a valid-so-far number), or the
    /// top-level value.
    tip: Option<Node>,
    complete: bool,
}

impl fmt::Debug for PartialSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartialSnapshot")
            .field("value", &self.to_value())
            .field("complete", &self.complete)
            .finish()
    }
}

impl PartialSnapshot {
    /// Whether the top-level value was complete when the snapshot was taken.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Build the value: O(size of the value).
    ///
    /// ```
    /// use openai_sdk::parsing::PartialJson;
    ///
    /// let mut p = PartialJson::new();
    /// p.push(r#"{"a": {"b": [1, {"c": nul"#);
    /// let snapshot = p.snapshot().unwrap().unwrap();
    /// assert_eq!(snapshot.to_value(), serde_json::json!({"a": {"b": [1, {}]}}));
    /// ```
    pub fn to_value(&self) -> Value {
        let mut reader = Reader::new(
            self.heads
                .iter()
                .map(|heads| (&*heads.arrays, &*heads.objects)),
            self.keys.iter(),
            self.strings.iter(),
        );
        // In document order (each level's complete members, then the next level), as the
        // reader's cursors move; then each level takes the next one in.
        let inner = self.levels.len();
        let open: Vec<Value> = self
            .levels
            .iter()
            .enumerate()
            .map(|(level, open)| {
                // Room for the member in progress.
                let extra = usize::from(level + 1 < inner || self.tip.is_some());
                match open {
                    Level::Array(span) => Value::Array(reader.items(level, *span, extra)),
                    Level::Object(span, _) => Value::Object(reader.members(level, *span, extra)),
                }
            })
            .collect();
        let mut child = self.tip.as_ref().map(|tip| reader.value(tip, inner));
        for (mut value, level) in open.into_iter().zip(&self.levels).rev() {
            match (&mut value, level) {
                (Value::Array(items), _) => items.extend(child),
                (Value::Object(map), Level::Object(_, Some(key))) => {
                    if let Some(child) = child {
                        map.insert(reader.key(*key).to_owned(), child);
                    }
                }
                _ => {}
            }
            child = Some(value);
        }
        child.unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_in_pieces(pieces: &[&str]) -> PartialJson {
        let mut p = PartialJson::new();
        for piece in pieces {
            p.push(piece);
        }
        p
    }

    /// Every kind of node comes back from its slot as it went in, at the edges of its range;
    /// an unwritten slot reads as empty.
    #[test]
    fn nodes_come_back_from_their_slots() {
        let short = |text: &str| Node::Short(Short::new(text).expect("a short string"));
        let nodes = [
            Node::Null,
            Node::Bool(false),
            Node::Bool(true),
            Node::Int(i64::MIN),
            Node::Int(-1),
            Node::Int(i64::MAX),
            Node::UInt(u64::MAX),
            Node::Float(-0.0),
            Node::Float(f64::MIN_POSITIVE),
            Node::Float(-1.5e300),
            short(""),
            short("a"),
            short("é€𝄞 in a short"),
            short(&"x".repeat(Short::MAX)),
            Node::Str(0),
            Node::Str(usize::MAX),
            Node::Array(Span { start: 0, len: 0 }),
            Node::Array(Span {
                start: usize::MAX,
                len: 3,
            }),
            Node::Object(Span {
                start: 7,
                len: usize::MAX,
            }),
        ];
        let render = |node: &Node| match *node {
            Node::Null => "null".to_owned(),
            Node::Bool(b) => format!("bool {b}"),
            Node::Int(i) => format!("int {i}"),
            Node::UInt(u) => format!("uint {u}"),
            Node::Float(f) => format!("float {:x}", f.to_bits()),
            Node::Short(s) => format!("short {:?} {}", s.as_str(), s.len),
            Node::Str(i) => format!("str {i}"),
            Node::Array(s) => format!("array {} {}", s.start, s.len),
            Node::Object(s) => format!("object {} {}", s.start, s.len),
        };
        assert!(NodeSlot::empty().read().is_none());
        assert!(MemberSlot::empty().read().is_none());
        for (key, node) in nodes.iter().enumerate() {
            let slot = NodeSlot::empty();
            slot.put(*node);
            let back = slot.read().expect("a written slot");
            assert_eq!(render(&back), render(node));
            let member = MemberSlot::empty();
            member.put((key * 1_000_003, *node));
            let (back_key, back) = member.read().expect("a written member");
            assert_eq!((back_key, render(&back)), (key * 1_000_003, render(node)));
        }
    }

    #[test]
    fn errors_say_where() {
        let p = parse_in_pieces(&["{\n  \"a\": 1,\n", "  \"b\" 2\n}"]);
        let err = p.value().unwrap_err();
        assert_eq!(err.kind(), PartialJsonErrorKind::ExpectedColon);
        assert_eq!((err.line(), err.column(), err.offset()), (3, 7, 18));
        assert_eq!(err.to_string(), "expected `:` at line 3 column 7 (byte 18)");
        assert!(!err.is_incomplete());

        let err = partial_parse("[\"a\nb\"]").unwrap_err();
        assert_eq!(
            err.kind(),
            PartialJsonErrorKind::ControlCharacterWhileParsingString
        );
        assert_eq!((err.line(), err.column(), err.offset()), (1, 4, 3));

        let err = partial_parse("[1, 2,\n\n  ]").unwrap_err();
        assert_eq!(err.kind(), PartialJsonErrorKind::TrailingComma);
        assert_eq!((err.line(), err.column()), (3, 3));

        let err = partial_parse("  \"abc").unwrap_err();
        assert_eq!(err.kind(), PartialJsonErrorKind::EofWhileParsingString);
        assert_eq!(err.offset(), 6);
        assert!(err.is_incomplete());
    }

    #[test]
    fn errors_are_sticky() {
        let mut p = parse_in_pieces(&["[1, x"]);
        let err = p.value().unwrap_err();
        assert_eq!(err.kind(), PartialJsonErrorKind::ExpectedSomeValue);
        p.push("]");
        assert_eq!(p.value().unwrap_err(), err);
        assert_eq!(p.finish().unwrap_err(), err);
        assert!(p.snapshot().is_err());
        assert_eq!(p.len(), 6);
    }

    #[test]
    fn incomplete_top_level_scalars() {
        for (text, kind) in [
            ("\"ab", PartialJsonErrorKind::EofWhileParsingString),
            ("tr", PartialJsonErrorKind::EofWhileParsingValue),
            ("-", PartialJsonErrorKind::EofWhileParsingValue),
            ("1.", PartialJsonErrorKind::EofWhileParsingValue),
        ] {
            let err = partial_parse(text).unwrap_err();
            assert_eq!(err.kind(), kind, "{text}");
            assert!(err.is_incomplete());
        }
        let mut p = parse_in_pieces(&["  6"]);
        assert_eq!(p.value().unwrap(), Some(json!(6)));
        assert!(!p.is_complete());
        assert_eq!(p.finish().unwrap(), json!(6));
        p.push("1.5");
        assert_eq!(p.value().unwrap(), Some(json!(61.5)));
        p.push(" ");
        assert!(p.is_complete());
    }

    #[test]
    fn snapshots_do_not_change() {
        let mut p = PartialJson::new();
        let mut snapshots = Vec::new();
        let text = r#"{"a": [1, {"b": "c"}, [true, null]], "d": {"e": 2.5}, "f": "g"}"#;
        for c in text.chars() {
            p.push(c.encode_utf8(&mut [0; 4]));
            let snapshot = p.snapshot().unwrap().unwrap();
            let value = snapshot.to_value();
            snapshots.push((snapshot, value));
        }
        for (snapshot, value) in &snapshots {
            assert_eq!(&snapshot.to_value(), value);
        }
        assert!(snapshots.last().unwrap().0.is_complete());
        assert!(!snapshots[snapshots.len() - 2].0.is_complete());
        assert_eq!(
            snapshots.last().unwrap().1,
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn snapshots_are_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PartialSnapshot>();
        assert_send_sync::<PartialJson>();

        let mut p = PartialJson::new();
        p.push(r#"{"items": [1, 2, 3"#);
        let snapshot = p.snapshot().unwrap().unwrap();
        let handle = std::thread::spawn(move || snapshot.to_value());
        p.push(", 4]}");
        assert_eq!(handle.join().unwrap(), json!({"items": [1, 2, 3]}));
        assert_eq!(p.value().unwrap(), Some(json!({"items": [1, 2, 3, 4]})));
    }

    #[test]
    fn large_arrays_span_many_chunks() {
        let text = format!(
            "[{}]",
            (0..1000)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut p = PartialJson::new();
        let mut mid = None;
        for (k, piece) in text.as_bytes().chunks(7).enumerate() {
            p.push(std::str::from_utf8(piece).unwrap());
            if k == 100 {
                mid = Some((p.snapshot().unwrap().unwrap(), p.value().unwrap()));
            }
        }
        let expected: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(p.finish().unwrap(), expected);
        let (snapshot, value) = mid.unwrap();
        assert_eq!(Some(snapshot.to_value()), value);
    }

    /// Dropping a container used to recurse once per chunk of 8 members: a long array
    /// overflowed the stack (an abort). On a 256 KiB stack here, with long arrays held by
    /// the parser, by a complete value, by snapshots dropped before and after the parser,
    /// and nested in arrays and objects.
    #[test]
    fn dropping_long_containers_does_not_recurse() {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                const N: usize = 1_000_000;
                let zeros = "0,".repeat(N);
                let mut p = PartialJson::new();
                p.push("{\"a\": [");
                p.push(&zeros);
                let early = p.snapshot().unwrap().unwrap();
                p.push("0], \"b\": [[");
                p.push(&zeros);
                p.push("1]");
                let mid = p.snapshot().unwrap().unwrap();
                drop(early);
                p.push("]}");
                let done = p.snapshot().unwrap().unwrap();
                assert!(done.is_complete());
                let value = done.to_value();
                assert_eq!(value["a"].as_array().map(Vec::len), Some(N + 1));
                assert_eq!(value["b"][0].as_array().map(Vec::len), Some(N + 1));
                drop(value);
                drop(p);
                drop(done);
                drop(mid);

                // Still open when dropped: the writer's frames hold the chains.
                let mut open = PartialJson::new();
                open.push("[[");
                open.push(&zeros);
                drop(open);
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn finish_is_strict() {
        assert_eq!(
            partial_json_finish("[1 2]").kind(),
            PartialJsonErrorKind::ExpectedListCommaOrEnd
        );
        assert_eq!(
            partial_json_finish(r#"{"a": 1 "b": 2}"#).kind(),
            PartialJsonErrorKind::ExpectedObjectCommaOrEnd
        );
        assert_eq!(
            partial_json_finish("[1, 2").kind(),
            PartialJsonErrorKind::EofWhileParsingList
        );
        assert_eq!(
            partial_json_finish(r#"{"a": "#).kind(),
            PartialJsonErrorKind::EofWhileParsingObject
        );
        assert_eq!(
            partial_json_finish(r#"["ab"#).kind(),
            PartialJsonErrorKind::EofWhileParsingString
        );
        assert_eq!(
            partial_json_finish("").kind(),
            PartialJsonErrorKind::EofWhileParsingValue
        );
        assert_eq!(
            partial_json_finish("{} \n x").kind(),
            PartialJsonErrorKind::TrailingCharacters
        );
        let p = parse_in_pieces(&["{\"a\": [1, 2]}", " \n\t"]);
        assert_eq!(p.finish().unwrap(), json!({"a": [1, 2]}));
    }

    fn partial_json_finish(text: &str) -> PartialJsonError {
        parse_in_pieces(&[text]).finish().unwrap_err()
    }

    #[test]
    fn numbers_keep_their_kind() {
        let v = partial_parse("[61, 61.0, -0, 1e2, 9223372036854775807, 18446744073709551615, 18446744073709551616, -9223372036854775809]")
            .unwrap()
            .unwrap();
        let items = v.as_array().unwrap();
        assert!(items[0].is_i64());
        assert!(items[1].is_f64());
        assert_eq!(items[2], json!(0));
        assert_eq!(items[3], json!(100.0));
        assert_eq!(items[4], json!(i64::MAX));
        assert_eq!(items[5], json!(u64::MAX));
        assert_eq!(items[6], json!(18446744073709551616.0));
        assert_eq!(items[7], json!(-9223372036854775809.0));
        let err = partial_parse("[1e400]").unwrap_err();
        assert_eq!(err.kind(), PartialJsonErrorKind::NumberOutOfRange);
        // A pending number at the end is checked too, without failing for good.
        let mut p = parse_in_pieces(&["[1e40"]);
        assert_eq!(p.value().unwrap(), Some(json!([1e40])));
        p.push("0");
        assert_eq!(
            p.value().unwrap_err().kind(),
            PartialJsonErrorKind::NumberOutOfRange
        );
    }

    #[test]
    fn escapes_split_across_deltas() {
        let text = r#"["\u00e9\ud83d\ude00\n\"\\\/"]"#;
        let expected = json!(["é😀\n\"\\/"]);
        for split in 1..text.len() {
            let (a, b) = text.split_at(split);
            let p = parse_in_pieces(&[a, b]);
            assert_eq!(
                p.value().unwrap(),
                Some(expected.clone()),
                "split at {split}"
            );
        }
    }

    #[test]
    fn short_and_long_strings_read_alike() {
        // Around the length kept in the node itself (in bytes: `é` is two, `😀` four).
        for len in 0..40 {
            for fill in ["a", "é", "😀", "\\n"] {
                let text: String = fill.repeat(len);
                let doc = format!(r#"{{"k": "{text}", "l": ["{text}", "{text}x"]}}"#);
                let expected: Value = serde_json::from_str(&doc).unwrap();
                assert_eq!(
                    partial_parse(&doc).unwrap(),
                    Some(expected.clone()),
                    "{doc}"
                );
                let mut p = PartialJson::new();
                for piece in doc.as_bytes().chunks(7) {
                    p.push(std::str::from_utf8(piece).unwrap_or_default());
                }
                if doc.is_ascii() {
                    assert_eq!(p.finish().unwrap(), expected, "{doc}");
                }
            }
        }
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_at_the_first_position() {
        let v = partial_parse(r#"{"a": 1, "b": 2, "a": 3}"#)
            .unwrap()
            .unwrap();
        assert_eq!(v, json!({"a": 3, "b": 2}));
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    /// Containers share their level's log with their cousins (other parents' children at the
    /// same depth), a repeated key leaves its first container in the log, and snapshots taken
    /// at every byte read the logs as they were: every value read equals a fresh parse.
    #[test]
    fn levels_shared_by_cousins_read_back_in_document_order() {
        let text = r#"{"a": [[1, {"x": [2]}], {"k": {"k": [3]}}], "a": [[4], [5, [6, {"y": 7}]]], "b": {"c": [[8]], "d": {}}, "e": [[], {}, [[9]]]}"#;
        let mut p = PartialJson::new();
        let mut snapshots = Vec::new();
        for (i, c) in text.char_indices() {
            p.push(&text[i..i + c.len_utf8()]);
            snapshots.push((i + c.len_utf8(), p.snapshot().unwrap()));
        }
        for (end, snapshot) in &snapshots {
            let expected = partial_parse(&text[..*end]).unwrap();
            assert_eq!(
                snapshot.as_ref().map(|s| s.to_value()),
                expected,
                "prefix {end}"
            );
        }
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(p.finish().unwrap(), theirs);
        assert_eq!(p.finish_as_serde_json(), Some(theirs));
        assert_eq!(
            p.finish().unwrap()["a"],
            json!([[4], [5, [6, {"y": 7}]]]),
            "the repeated key's last value"
        );
    }
}
