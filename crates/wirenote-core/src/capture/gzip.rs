//! gzip-compressed captures: one layer is unwrapped, as wiretap does.
//!
//! A gzip inside the gzip is not a capture; unwrapping layers without end would let a
//! small file exhaust memory and the stack.

use std::io::{self, Read};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `bytes` start like a gzip stream.
pub(super) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// A decompressing reader over `reader` (every member of a multi-member file).
pub(super) fn decoder<'s, R: Read + 's>(reader: R) -> Box<dyn Read + 's> {
    Box::new(flate2::read::MultiGzDecoder::new(reader))
}

/// Peeks at the first two bytes of a stream and puts them back in front of it: the
/// stream itself, or, when it is gzip, its decompressed contents (one layer only).
pub(super) fn unwrap_one_layer<'s>(
    mut reader: Box<dyn Read + 's>,
) -> io::Result<Box<dyn Read + 's>> {
    let mut magic = [0u8; 2];
    let mut have = 0;
    while have < magic.len() {
        match reader.read(&mut magic[have..]) {
            Ok(0) => break,
            Ok(n) => have += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let stream = io::Cursor::new(magic[..have].to_vec()).chain(reader);
    if magic[..have] == GZIP_MAGIC {
        return Ok(decoder(stream));
    }
    Ok(Box::new(stream))
}
