//! Multipart bodies whose end is known.
//!
//! actix-multipart 0.7 parks a part for good when the body ends inside it with fewer bytes
//! left than a boundary (`field::InnerField::read_stream` answers `Pending` without anything
//! left to wake it): a client that cuts an upload short, or a body forged that way, leaves
//! the handler waiting for ever and its connection held. The fuzzer found it (the input is
//! in `fuzz/regressions/logo_upload-truncated-part`). [`Parts`] watches the body's stream:
//! once the stream has ended, the parser has nothing left to wait for, so a `Pending` from it
//! means the body stopped inside a part, and that is answered at once as
//! [`MultipartError::Incomplete`]. Every multipart form of the console and of the sandbox is
//! read through it.

use std::cell::Cell;
use std::future::{Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::HeaderMap;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::poll_fn;
use futures_util::{Stream, StreamExt};

/// A multipart body and whether its stream has ended.
pub struct Parts {
    parser: Multipart,
    ended: Rc<Cell<bool>>,
}

impl Parts {
    /// The parts of `stream`, framed by the boundary in `headers`' Content-Type (a missing or
    /// wrong one is the first item's error, as with `Multipart::new`).
    pub fn new<S>(headers: &HeaderMap, stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, PayloadError>> + 'static,
    {
        let ended = Rc::new(Cell::new(false));
        let watched = Watched { inner: Box::pin(stream), ended: Rc::clone(&ended) };
        Parts { parser: Multipart::new(headers, watched), ended }
    }

    /// The next part, `None` after the last, [`MultipartError::Incomplete`] when the body
    /// ended before the closing boundary.
    pub async fn next_field(&mut self) -> Option<Result<Field, MultipartError>> {
        settle(&mut self.parser, &self.ended).await
    }

    /// The next chunk of `field`, `None` at its end, [`MultipartError::Incomplete`] when the
    /// body ended inside it.
    pub async fn next_chunk(&self, field: &mut Field) -> Option<Result<Bytes, MultipartError>> {
        settle(field, &self.ended).await
    }
}

/// Polls `stream` once more; a `Pending` after the body ended is the body cut short.
async fn settle<S, T>(stream: &mut S, ended: &Cell<bool>) -> Option<Result<T, MultipartError>>
where
    S: Stream<Item = Result<T, MultipartError>> + Unpin,
{
    poll_fn(|cx| match stream.poll_next_unpin(cx) {
        Poll::Pending if ended.get() => Poll::Ready(Some(Err(MultipartError::Incomplete))),
        other => other,
    })
    .await
}

/// The body's stream, noting its end; polled again after it, it stays ended.
struct Watched {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>,
    ended: Rc<Cell<bool>>,
}

impl Stream for Watched {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended.get() {
            return Poll::Ready(None);
        }
        let item = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = item {
            self.ended.set(true);
        }
        item
    }
}

impl FromRequest for Parts {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(Ok(Parts::new(req.headers(), payload.take())))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{self, HeaderValue};

    use super::*;

    fn parts(chunks: &[&'static [u8]]) -> Parts {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("multipart/form-data; boundary=XyZ"));
        let stream = futures_util::stream::iter(chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect::<Vec<_>>());
        Parts::new(&headers, stream)
    }

    /// Reads every part, returning the fields' bytes or the first error.
    async fn read_all(mut p: Parts) -> Result<Vec<Vec<u8>>, MultipartError> {
        let mut out = Vec::new();
        while let Some(field) = p.next_field().await {
            let mut field = field?;
            let mut data = Vec::new();
            while let Some(chunk) = p.next_chunk(&mut field).await {
                data.extend_from_slice(&chunk?);
            }
            out.push(data);
        }
        Ok(out)
    }

    #[actix_web::test]
    async fn a_whole_body_reads_every_part() {
        let body: &'static [u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nworld\r\n--XyZ--\r\n";
        // Fed whole and byte by byte: the parser waits for more only while the body goes on.
        assert_eq!(read_all(parts(&[body])).await.unwrap(), vec![b"hello".to_vec(), b"world".to_vec()]);
        let bytes: Vec<&'static [u8]> = body.chunks(1).collect();
        assert_eq!(read_all(parts(&bytes)).await.unwrap(), vec![b"hello".to_vec(), b"world".to_vec()]);
    }

    #[actix_web::test]
    async fn a_body_cut_short_inside_a_part_is_incomplete_not_a_wait() {
        // The fuzzer's input: the body stops after "\r\n--" with fewer bytes than a boundary.
        // Unwatched, actix-multipart answers Pending here for ever (the test would hang).
        let body: &'static [u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--X";
        let err = read_all(parts(&[body])).await.unwrap_err();
        assert!(matches!(err, MultipartError::Incomplete), "{err}");
        // Cut in the headers, or before any part, is refused as well.
        for cut in [&body[..20], &body[..3], b"".as_slice()] {
            assert!(read_all(parts(&[cut])).await.is_err(), "{:?}", String::from_utf8_lossy(cut));
        }
    }
}
