//! The requests Dolfin's API documents.

use revoker_plugin_api::{HttpRequest, Method, ParamKind, Params, PluginError, path};

/// `POST /api-keys/{id}/revoke`, no body.
pub(crate) fn revoke_api_key(params: &Params) -> Result<HttpRequest, PluginError> {
    let id = params.require_kind("id", ParamKind::Uuid)?;
    Ok(HttpRequest::new(
        Method::Post,
        path!("/api-keys/{}/revoke", id),
    ))
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::PluginErrorKind;

    use super::*;

    const ID: &str = "5eb8b151-77b3-4e46-8243-5b6282131a9e";

    #[test]
    fn revoke_is_a_bodyless_post() {
        let request = revoke_api_key(&Params::from_pairs([("id", ID)])).unwrap();
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.path, format!("/api-keys/{ID}/revoke").as_str());
        assert!(request.headers.is_empty(), "no Content-Type without a body");
        assert!(request.body.is_none());
    }

    #[test]
    fn id_must_be_a_uuid() {
        for bad in ["", "not-a-uuid", "../../admin"] {
            let err = revoke_api_key(&Params::from_pairs([("id", bad)])).unwrap_err();
            assert_eq!(err.kind, PluginErrorKind::InvalidParam, "{bad:?}");
        }
        let err = revoke_api_key(&Params::new()).unwrap_err();
        assert_eq!(err.message, "parameter \"id\" is required");
    }
}
