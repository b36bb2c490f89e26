//! The requests LangWatch's API documents.

use revoker_plugin_api::{HttpRequest, Method, ParamKind, Params, PluginError, path};

/// `POST /api/gateway/v1/virtual-keys/{id}/revoke`, no body.
pub(crate) fn revoke_virtual_key(params: &Params) -> Result<HttpRequest, PluginError> {
    let id = params.require_kind("id", ParamKind::String)?;
    Ok(HttpRequest::new(
        Method::Post,
        path!("/api/gateway/v1/virtual-keys/{}/revoke", id),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_is_a_bodyless_post() {
        let request = revoke_virtual_key(&Params::from_pairs([("id", "vk_01HX")])).unwrap();
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.path, "/api/gateway/v1/virtual-keys/vk_01HX/revoke");
        assert!(request.headers.is_empty(), "no Content-Type without a body");
        assert!(request.body.is_none());
    }

    #[test]
    fn id_is_one_encoded_segment() {
        let request = revoke_virtual_key(&Params::from_pairs([("id", "../../admin?x")])).unwrap();
        assert_eq!(
            request.path,
            "/api/gateway/v1/virtual-keys/..%2F..%2Fadmin%3Fx/revoke"
        );
    }

    #[test]
    fn id_is_required_and_non_empty() {
        assert!(revoke_virtual_key(&Params::new()).is_err());
        let err = revoke_virtual_key(&Params::from_pairs([("id", "")])).unwrap_err();
        assert_eq!(err.message, "parameter \"id\" must not be empty");
    }
}
