//! The two frame types of a multiplexed conversation after the handshake.

use serde::{Deserialize, Serialize};

/// A request from the caller, with an id the response will carry. Ids are unique per
/// connection; the caller picks them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The request id.
    pub id: u64,
    /// The request.
    pub body: T,
}

/// A frame from the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerFrame<T> {
    /// The answer to the request with this id.
    Response {
        /// The request id.
        id: u64,
        /// The answer.
        body: T,
    },
    /// The request with this id was handled but its answer could not be sent (for example it
    /// exceeded the maximum frame size). The request may have taken effect.
    Failed {
        /// The request id.
        id: u64,
        /// What went wrong.
        reason: String,
    },
    /// The server is closing the connection, because of what it received (garbage, an oversize
    /// frame) or because it is shutting down. Calls in flight may or may not have taken effect.
    Goodbye {
        /// Why.
        reason: String,
    },
}
