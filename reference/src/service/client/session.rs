//! A [`KvClient`]'s session (dissertation §6.3): register once, number each write, and retry a
//! write whose outcome is unknown under the same number until an answer says what happened;
//! the cluster's [`crate::session::Sessions`] applies it at most once.

use super::{Answered, KvClient, KvError};
use crate::kv::{KvCommand, KvResponse};
use crate::tcp::Connector;

/// An open session: the client id the cluster gave it and the next sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct OpenSession {
    client_id: u64,
    next_sequence: u64,
}

/// How many more times a write is sent under a fresh session after its session expired (an
/// expiry is definite only while no attempt's outcome was unknown).
const EXPIRED_RETRIES: u32 = 2;

impl<C: Connector> KvClient<C> {
    /// Run the write `command` under the client's session, registering one first if none is
    /// open. Each write takes the next sequence number, every attempt of it carries that
    /// number, and attempts whose outcome is unknown are retried like reads. An expired
    /// session is forgotten; the write is tried again under a new one when it certainly was
    /// not applied, and is indeterminate otherwise.
    pub(super) async fn execute_in_session(&self, command: KvCommand) -> Result<Answered, KvError> {
        let mut session = self.session.lock().await;
        let mut may_have_applied = false;
        let mut expired = None;
        for _ in 0..=EXPIRED_RETRIES {
            let open = match *session {
                Some(open) => open,
                None => {
                    let open = self
                        .register()
                        .await
                        .map_err(|error| self.not_registered(error, may_have_applied))?;
                    *session = Some(open);
                    open
                }
            };
            *session = Some(OpenSession {
                next_sequence: open.next_sequence + 1,
                ..open
            });
            let tagged = KvCommand::InSession {
                client_id: open.client_id,
                sequence: open.next_sequence,
                command: Box::new(command.clone()),
            };
            let (result, unknown) = self.execute_tracking(tagged).await;
            may_have_applied |= unknown;
            let Ok(Answered {
                node,
                response: KvResponse::SessionExpired { client_id },
            }) = result
            else {
                return result;
            };
            *session = None;
            if may_have_applied {
                return Err(KvError::Indeterminate {
                    node,
                    reason: format!(
                        "session {client_id} expired after an attempt whose outcome is unknown"
                    ),
                });
            }
            expired = Some(KvError::SessionExpired { node, client_id });
        }
        Err(expired.expect("the loop runs at least once and ends only on an expiry"))
    }

    /// Open a session. A registration whose outcome is unknown is sent again: a session
    /// opened and never used only waits to expire.
    async fn register(&self) -> Result<OpenSession, KvError> {
        let answered = self.execute_attempts(KvCommand::RegisterSession).await?;
        match answered.response {
            KvResponse::SessionRegistered { client_id } => Ok(OpenSession {
                client_id,
                next_sequence: 1,
            }),
            other => Err(KvError::Invalid {
                node: answered.node,
                reason: format!("registering a session: unexpected response {other:?}"),
            }),
        }
    }

    /// What a write ends in when no session could be opened for it: definite unless an
    /// earlier attempt of it (under an expired session) may have applied, since it was not
    /// sent this time.
    fn not_registered(&self, error: KvError, may_have_applied: bool) -> KvError {
        match error {
            error if may_have_applied => KvError::Indeterminate {
                node: error.node(),
                reason: format!("no new session after the old one expired: {error}"),
            },
            KvError::Indeterminate { node, reason } => KvError::Unavailable {
                node,
                attempts: self.config.max_attempts,
                last_error: format!("no session could be opened, the write was not sent: {reason}"),
            },
            error => error,
        }
    }

    /// The open session's client id, if any.
    pub async fn session_client_id(&self) -> Option<u64> {
        self.session.lock().await.map(|open| open.client_id)
    }
}
