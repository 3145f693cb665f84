//! Email over SMTP through lettre: STARTTLS, implicit TLS or plain, with optional
//! authentication. The message's idempotency key becomes its `Message-ID`.

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::channels::{Delivery, SendError};
use super::config::{EmailSettings, SmtpSecurity};

pub struct SmtpChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The sender's domain, for `Message-ID`s.
    domain: String,
}

impl SmtpChannel {
    pub fn new(settings: &EmailSettings) -> Result<Self, String> {
        let builder = match settings.security {
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(|e| format!("notifications.email.host: {e}"))?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)
                .map_err(|e| format!("notifications.email.host: {e}"))?,
            SmtpSecurity::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
        };
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.0.clone()));
        }
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| format!("notifications.email.from: {e}"))?;
        let domain = from.email.domain().to_owned();
        Ok(Self {
            transport: builder.build(),
            from,
            domain,
        })
    }

    pub async fn send(&self, delivery: &Delivery<'_>) -> Result<(), SendError> {
        let to: Mailbox = delivery.recipient.parse().map_err(|e| {
            SendError::Permanent(format!(
                "'{}' is not an email address: {e}",
                delivery.recipient
            ))
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(delivery.subject)
            .message_id(Some(format!(
                "<{}@{}>",
                message_id_part(delivery.idempotency_key),
                self.domain
            )))
            .header(ContentType::TEXT_PLAIN)
            .body(delivery.text.to_owned())
            .map_err(|e| SendError::Permanent(format!("building the email: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("SMTP: {e}"))),
            Err(e) => Err(SendError::Temporary(format!("SMTP: {e}"))),
        }
    }
}

/// The idempotency key with anything a `Message-ID` may not hold replaced.
fn message_id_part(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect()
}
