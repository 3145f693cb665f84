//! SMS through an HTTP gateway, in the request format of the configured one. Every
//! request carries the message's idempotency key in an `Idempotency-Key` header.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{json, Value};

use super::channels::{Delivery, SendError};
use super::config::SmsGateway;

pub struct SmsChannel {
    client: reqwest::Client,
    gateway: SmsGateway,
}

/// Inserts the values, JSON-escaped without their quotes, into a webhook body template.
pub fn fill_template(
    template: &str,
    recipient: &str,
    text: &str,
    message_id: &str,
    idempotency_key: &str,
) -> String {
    let escaped = |v: &str| {
        let quoted = Value::String(v.to_owned()).to_string();
        quoted[1..quoted.len() - 1].to_owned()
    };
    template
        .replace("{{recipient}}", &escaped(recipient))
        .replace("{{text}}", &escaped(text))
        .replace("{{message_id}}", &escaped(message_id))
        .replace("{{idempotency_key}}", &escaped(idempotency_key))
}

fn timeout_of(gateway: &SmsGateway) -> Duration {
    match gateway {
        SmsGateway::Webhook { timeout, .. }
        | SmsGateway::AfricasTalking { timeout, .. }
        | SmsGateway::Twilio { timeout, .. }
        | SmsGateway::RapidPro { timeout, .. } => *timeout,
    }
}

/// Whether an HTTP error is worth retrying: server errors, timeouts, rate limits, and
/// refused credentials (an operator can fix the configuration while messages wait).
fn temporary(status: StatusCode) -> bool {
    status.is_server_error()
        || matches!(
            status,
            StatusCode::REQUEST_TIMEOUT
                | StatusCode::TOO_MANY_REQUESTS
                | StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
        )
}

fn excerpt(body: &str) -> String {
    let trimmed = body.trim();
    match trimmed.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

impl SmsChannel {
    pub fn new(gateway: &SmsGateway) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout_of(gateway))
            .build()
            .map_err(|e| format!("notifications.sms: {e}"))?;
        Ok(Self {
            client,
            gateway: gateway.clone(),
        })
    }

    fn request(&self, delivery: &Delivery<'_>) -> Result<RequestBuilder, SendError> {
        let request = match &self.gateway {
            SmsGateway::Webhook {
                url,
                headers,
                body_template,
                ..
            } => {
                let mut map = HeaderMap::new();
                for (name, value) in headers {
                    let name = HeaderName::try_from(name.as_str()).map_err(|e| {
                        SendError::Permanent(format!("notifications.sms.headers '{name}': {e}"))
                    })?;
                    let value = HeaderValue::try_from(value.0.as_str()).map_err(|e| {
                        SendError::Permanent(format!("notifications.sms.headers '{name}': {e}"))
                    })?;
                    map.insert(name, value);
                }
                let body = fill_template(
                    body_template,
                    delivery.recipient,
                    delivery.text,
                    delivery.message_id,
                    delivery.idempotency_key,
                );
                self.client
                    .post(url)
                    .headers(map)
                    .header("content-type", "application/json")
                    .body(body)
            }
            SmsGateway::AfricasTalking {
                url,
                username,
                api_key,
                from,
                ..
            } => {
                let mut form = vec![
                    ("username", username.as_str()),
                    ("to", delivery.recipient),
                    ("message", delivery.text),
                ];
                if let Some(from) = from {
                    form.push(("from", from.as_str()));
                }
                self.client
                    .post(url)
                    .header("apiKey", api_key.0.as_str())
                    .header("accept", "application/json")
                    .form(&form)
            }
            SmsGateway::Twilio {
                url,
                account_sid,
                auth_token,
                from,
                ..
            } => {
                // A messaging service SID (MG…) lets Twilio pick the sender.
                let sender = if from.starts_with("MG") {
                    "MessagingServiceSid"
                } else {
                    "From"
                };
                self.client
                    .post(format!(
                        "{url}/2010-04-01/Accounts/{account_sid}/Messages.json"
                    ))
                    .basic_auth(account_sid, Some(auth_token.0.as_str()))
                    .form(&[
                        ("To", delivery.recipient),
                        (sender, from.as_str()),
                        ("Body", delivery.text),
                    ])
            }
            SmsGateway::RapidPro { url, token, .. } => self
                .client
                .post(url)
                .header("authorization", format!("Token {}", token.0))
                .json(&json!({
                    "urns": [format!("tel:{}", delivery.recipient)],
                    "text": delivery.text,
                })),
        };
        Ok(request.header("idempotency-key", delivery.idempotency_key))
    }

    pub async fn send(&self, delivery: &Delivery<'_>) -> Result<(), SendError> {
        let response = self
            .request(delivery)?
            .send()
            .await
            // The URL may carry a token; it stays out of the stored error.
            .map_err(|e| SendError::Temporary(format!("SMS gateway: {}", e.without_url())))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let error = format!("SMS gateway answered {status}: {}", excerpt(&body));
            return Err(if temporary(status) {
                SendError::Temporary(error)
            } else {
                SendError::Permanent(error)
            });
        }
        if let SmsGateway::AfricasTalking { .. } = self.gateway {
            return africas_talking_result(&body);
        }
        Ok(())
    }
}

/// Africa's Talking answers 201 even when it refuses the recipient; the per-recipient
/// `statusCode` says what happened (100–102 accepted).
fn africas_talking_result(body: &str) -> Result<(), SendError> {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let Some(recipient) = parsed["SMSMessageData"]["Recipients"]
        .as_array()
        .and_then(|r| r.first())
    else {
        return Err(SendError::Temporary(format!(
            "Africa's Talking accepted no recipient: {}",
            excerpt(body)
        )));
    };
    let code = recipient["statusCode"].as_i64().unwrap_or(0);
    let status = recipient["status"].as_str().unwrap_or("unknown");
    match code {
        100..=102 => Ok(()),
        // Invalid or unsupported number, or a blacklisted recipient.
        403 | 404 | 406 => Err(SendError::Permanent(format!(
            "Africa's Talking refused the recipient: {status} ({code})"
        ))),
        _ => Err(SendError::Temporary(format!(
            "Africa's Talking did not send: {status} ({code})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_values_are_json_escaped() {
        let body = fill_template(
            r#"{"to":"{{recipient}}","msg":"{{text}}"}"#,
            "+258841234567",
            "say \"hi\"\nnow",
            "m",
            "k",
        );
        let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        assert_eq!(parsed["msg"], "say \"hi\"\nnow");
        assert_eq!(parsed["to"], "+258841234567");
    }

    #[test]
    fn africas_talking_refusals_are_read_from_the_body() {
        let ok = r#"{"SMSMessageData":{"Recipients":[{"statusCode":101,"status":"Success"}]}}"#;
        assert_eq!(africas_talking_result(ok), Ok(()));
        let bad = r#"{"SMSMessageData":{"Recipients":[{"statusCode":403,"status":"InvalidPhoneNumber"}]}}"#;
        assert!(matches!(
            africas_talking_result(bad),
            Err(SendError::Permanent(_))
        ));
    }
}
