//! The gateways of the configured channels, built once per worker.

use super::config::Notifications;
use super::sms::SmsChannel;
use super::smtp::SmtpChannel;
use super::Channel;

/// One message ready to leave.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    pub message_id: &'a str,
    /// The same for every attempt of one message: gateways that honour it drop a
    /// repeat after a crash between sending and recording.
    pub idempotency_key: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
}

/// Why a send did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth another attempt later (network, timeouts, 5xx, 429).
    Temporary(String),
    /// Will fail the same way every time (a refused recipient or request).
    Permanent(String),
    /// No gateway is configured for the channel.
    NoGateway,
}

pub struct Channels {
    email: Option<SmtpChannel>,
    sms: Option<SmsChannel>,
}

impl Channels {
    pub fn new(settings: &Notifications) -> Result<Self, String> {
        Ok(Self {
            email: settings.email.as_ref().map(SmtpChannel::new).transpose()?,
            sms: settings.sms.as_ref().map(SmsChannel::new).transpose()?,
        })
    }

    pub fn has_gateway(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::Sms => self.sms.is_some(),
        }
    }

    pub async fn send(&self, channel: Channel, delivery: &Delivery<'_>) -> Result<(), SendError> {
        match channel {
            Channel::Email => match &self.email {
                Some(email) => email.send(delivery).await,
                None => Err(SendError::NoGateway),
            },
            Channel::Sms => match &self.sms {
                Some(sms) => sms.send(delivery).await,
                None => Err(SendError::NoGateway),
            },
        }
    }
}
