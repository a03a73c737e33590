//! LangGraph's msgpack form of messages, what Python writes: extension 5 around
//! `[module, class, model_dump(), "model_validate_json"]`.

use rmpv::Value as M;

use super::messages::{langchain_class, role_of_class, ChatMessage, Role};

/// msgpack extension code of a pydantic v2 model in LangGraph's serializer.
const EXT_PYDANTIC_V2: i8 = 5;
/// msgpack extension code of a pydantic v1 model in LangGraph's serializer.
const EXT_PYDANTIC_V1: i8 = 4;

/// Reads a `msgpack` blob: it must hold exactly one value, a list of entries.
pub(super) fn decode_list(bytes: &[u8]) -> Result<Vec<M>, String> {
    let mut reader = bytes;
    let value = rmpv::decode::read_value(&mut reader).map_err(|e| format!("msgpack blob does not decode: {e}"))?;
    if !reader.is_empty() {
        return Err(format!("msgpack blob has {} bytes after its value", reader.len()));
    }
    match value {
        M::Array(items) => Ok(items),
        other => Err(format!("expected a list of messages, found msgpack {}", kind(&other))),
    }
}

/// Encodes a list of entries as one msgpack value.
pub(super) fn encode_list(items: &[M]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &M::Array(items.to_vec())).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Reads one entry: extension 5 (or 4) `[module, class, fields, ...]`; anything else becomes an
/// unsupported placeholder.
pub(super) fn decode_message(item: &M) -> ChatMessage {
    let M::Ext(code, data) = item else {
        return ChatMessage::unsupported(&format!("msgpack {}", kind(item)));
    };
    let mut reader = data.as_slice();
    let parts = match rmpv::decode::read_value(&mut reader) {
        Ok(M::Array(parts)) => parts,
        _ => return ChatMessage::unsupported(&format!("msgpack extension {code}")),
    };
    let module = parts.first().and_then(M::as_str).unwrap_or("?");
    let class = parts.get(1).and_then(M::as_str).unwrap_or("?");
    let known = (*code == EXT_PYDANTIC_V2 || *code == EXT_PYDANTIC_V1) && module.starts_with("langchain_core.messages");
    let (Some(role), true, Some(M::Map(fields))) = (role_of_class(class), known, parts.get(2)) else {
        return ChatMessage::unsupported(&format!("{module}.{class}"));
    };
    let field = |name: &str| fields.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| v);
    ChatMessage { role, content: content(field("content")), id: field("id").and_then(M::as_str).map(str::to_string) }
}

/// Flattens LangChain content (a string, or a list of blocks) to text.
fn content(content: Option<&M>) -> String {
    match content {
        Some(M::String(s)) => s.as_str().unwrap_or_default().to_string(),
        Some(M::Array(blocks)) => blocks
            .iter()
            .map(|b| match b {
                M::String(s) => s.as_str().unwrap_or_default().to_string(),
                M::Map(entries) => {
                    let get = |name: &str| {
                        entries.iter().find(|(k, _)| k.as_str() == Some(name)).and_then(|(_, v)| v.as_str())
                    };
                    match (get("text"), get("type")) {
                        (Some(text), _) => text.to_string(),
                        (None, Some(kind)) => format!("[unsupported {kind} block]"),
                        (None, None) => "[unsupported block]".to_string(),
                    }
                }
                other => format!("[unsupported {} block]", kind(other)),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Encodes a message as LangGraph's msgpack serializer does: extension 5 around
/// `[module, class, model_dump(), "model_validate_json"]`.
pub(super) fn encode_message(message: &ChatMessage) -> Result<M, String> {
    let (module, class) = langchain_class(message.role)?;
    let mut fields = vec![
        (M::from("content"), M::from(message.content.as_str())),
        (M::from("additional_kwargs"), M::Map(Vec::new())),
        (M::from("response_metadata"), M::Map(Vec::new())),
        (M::from("type"), M::from(message.role.as_str())),
        (M::from("name"), M::Nil),
        (M::from("id"), message.id.as_deref().map_or(M::Nil, M::from)),
    ];
    if message.role == Role::Human {
        fields.push((M::from("example"), M::Boolean(false)));
    }
    if message.role == Role::Ai {
        fields.push((M::from("example"), M::Boolean(false)));
        fields.push((M::from("tool_calls"), M::Array(Vec::new())));
        fields.push((M::from("invalid_tool_calls"), M::Array(Vec::new())));
        fields.push((M::from("usage_metadata"), M::Nil));
    }
    let inner = M::Array(vec![
        M::from(format!("langchain_core.messages.{module}")),
        M::from(class),
        M::Map(fields),
        M::from("model_validate_json"),
    ]);
    let mut data = Vec::new();
    rmpv::encode::write_value(&mut data, &inner).map_err(|e| e.to_string())?;
    Ok(M::Ext(EXT_PYDANTIC_V2, data))
}

/// Names a msgpack value's kind, for messages.
pub(super) fn kind(v: &M) -> &'static str {
    match v {
        M::Nil => "nil",
        M::Boolean(_) => "boolean",
        M::Integer(_) | M::F32(_) | M::F64(_) => "number",
        M::String(_) => "string",
        M::Binary(_) => "binary",
        M::Array(_) => "array",
        M::Map(_) => "map",
        M::Ext(..) => "extension",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_the_extension() {
        for m in [
            ChatMessage { role: Role::Human, content: "I walk every day".into(), id: Some("h-1".into()) },
            ChatMessage { role: Role::Ai, content: "Good.".into(), id: None },
        ] {
            let encoded = encode_message(&m).unwrap();
            assert!(matches!(&encoded, M::Ext(5, _)), "{encoded:?}");
            assert_eq!(decode_message(&encoded), m);
        }
        let bytes = encode_list(&[M::from(1), M::Nil]).unwrap();
        assert_eq!(decode_list(&bytes).unwrap(), vec![M::from(1), M::Nil]);
        assert_eq!(decode_list(&[0x01]).unwrap_err(), "expected a list of messages, found msgpack number");
    }
}
