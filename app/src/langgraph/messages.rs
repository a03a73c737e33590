//! Chat messages as the app sees them, and the LangChain message classes they map to.

use serde::Serialize;

use super::ids;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user (LangChain `HumanMessage`).
    Human,
    /// The assistant (LangChain `AIMessage`).
    Ai,
    /// A system prompt (LangChain `SystemMessage`).
    System,
    /// A tool result (LangChain `ToolMessage`).
    Tool,
    /// Something stored in the channel that is not a message this module knows.
    Unsupported,
}

impl Role {
    /// Returns the role's name as LangChain's `type` field spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Human => "human",
            Role::Ai => "ai",
            Role::System => "system",
            Role::Tool => "tool",
            Role::Unsupported => "unsupported",
        }
    }
}

/// One message of a thread's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// Who said it.
    pub role: Role,
    /// The text; for an unsupported entry, `[unsupported <module>.<class>]`.
    pub content: String,
    /// LangChain's message id (a UUID for messages written here).
    pub id: Option<String>,
}

impl ChatMessage {
    /// Creates a user message with a fresh id.
    pub fn human(content: &str) -> ChatMessage {
        ChatMessage { role: Role::Human, content: content.to_string(), id: Some(ids::random_uuid()) }
    }

    /// Creates an assistant message with a fresh id.
    pub fn ai(content: &str) -> ChatMessage {
        ChatMessage { role: Role::Ai, content: content.to_string(), id: Some(ids::random_uuid()) }
    }

    /// Creates the placeholder shown for a stored entry this module cannot read.
    pub(super) fn unsupported(what: &str) -> ChatMessage {
        ChatMessage { role: Role::Unsupported, content: format!("[unsupported {what}]"), id: None }
    }
}

/// Returns the role of a LangChain message class (chunks included), if it is one this module reads.
pub(super) fn role_of_class(class: &str) -> Option<Role> {
    match class.strip_suffix("Chunk").unwrap_or(class) {
        "HumanMessage" => Some(Role::Human),
        "AIMessage" => Some(Role::Ai),
        "SystemMessage" => Some(Role::System),
        "ToolMessage" => Some(Role::Tool),
        _ => None,
    }
}

/// Returns LangChain's module (under `langchain_core.messages`) and class for a role this module writes.
pub(super) fn langchain_class(role: Role) -> Result<(&'static str, &'static str), String> {
    match role {
        Role::Human => Ok(("human", "HumanMessage")),
        Role::Ai => Ok(("ai", "AIMessage")),
        Role::System => Ok(("system", "SystemMessage")),
        Role::Tool | Role::Unsupported => Err(format!("cannot write a {} message", role.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_map_to_roles_both_ways() {
        for role in [Role::Human, Role::Ai, Role::System] {
            let (_, class) = langchain_class(role).unwrap();
            assert_eq!(role_of_class(class), Some(role));
        }
        assert_eq!(role_of_class("AIMessageChunk"), Some(Role::Ai));
        assert_eq!(role_of_class("ClinicianNote"), None);
        assert!(langchain_class(Role::Tool).is_err());
        let m = ChatMessage::human("hi");
        assert_ne!(m.id, ChatMessage::human("hi").id, "every message gets its own id");
    }
}
