//! The requests Pinata's API documents.

use revoker_plugin_api::{HttpRequest, Method, ParamKind, Params, PluginError, path};

/// `DELETE /v3/gateways/{gateway-id}/access_tokens/{key-id}`, no body.
pub(crate) fn revoke_gateway_key(params: &Params) -> Result<HttpRequest, PluginError> {
    let gateway_id = params.require_kind("gateway-id", ParamKind::String)?;
    let key_id = params.require_kind("key-id", ParamKind::String)?;
    Ok(HttpRequest::new(
        Method::Delete,
        path!("/v3/gateways/{}/access_tokens/{}", gateway_id, key_id),
    ))
}

/// `POST /v3/gateways/{gateway-id}/access_tokens`; the document defines no body,
/// so none is sent.
pub(crate) fn create_gateway_key(params: &Params) -> Result<HttpRequest, PluginError> {
    let gateway_id = params.require_kind("gateway-id", ParamKind::String)?;
    Ok(HttpRequest::new(
        Method::Post,
        path!("/v3/gateways/{}/access_tokens", gateway_id),
    ))
}

/// `PUT /users/revokeApiKey` with the JSON body `{"apiKey": …}`.
pub(crate) fn revoke_api_key(params: &Params) -> Result<HttpRequest, PluginError> {
    let api_key = params.require_kind("api-key", ParamKind::String)?;
    let body = serde_json::json!({ "apiKey": api_key });
    Ok(HttpRequest::new(Method::Put, "/users/revokeApiKey").json_body(body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATEWAY: &str = "5eb8b151-77b3-4e46-8243-5b6282131a9e";
    const KEY: &str = "5cfe30af-1de5-409e-be09-f261445a2df6";

    #[test]
    fn revoke_gateway_key_is_a_bodyless_delete() {
        let params = Params::from_pairs([("gateway-id", GATEWAY), ("key-id", KEY)]);
        let request = revoke_gateway_key(&params).unwrap();
        assert_eq!(request.method, Method::Delete);
        assert_eq!(
            request.path,
            format!("/v3/gateways/{GATEWAY}/access_tokens/{KEY}").as_str()
        );
        assert!(request.headers.is_empty());
        assert!(request.body.is_none());
    }

    #[test]
    fn create_gateway_key_is_a_bodyless_post() {
        let request = create_gateway_key(&Params::from_pairs([("gateway-id", GATEWAY)])).unwrap();
        assert_eq!(request.method, Method::Post);
        assert_eq!(
            request.path,
            format!("/v3/gateways/{GATEWAY}/access_tokens").as_str()
        );
        assert!(request.headers.is_empty(), "no Content-Type without a body");
        assert!(request.body.is_none());
    }

    #[test]
    fn revoke_api_key_puts_a_json_body() {
        let request = revoke_api_key(&Params::from_pairs([("api-key", "pk \"quoted\"")])).unwrap();
        assert_eq!(request.method, Method::Put);
        assert_eq!(request.path, "/users/revokeApiKey");
        assert_eq!(request.headers.len(), 1);
        assert_eq!(request.headers[0].name, "Content-Type");
        assert_eq!(request.headers[0].value, "application/json");
        let body: serde_json::Value = serde_json::from_str(request.body_text().unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"apiKey": "pk \"quoted\""}));
    }

    #[test]
    fn path_params_are_encoded_segments() {
        let params = Params::from_pairs([("gateway-id", "a/b"), ("key-id", "..")]);
        let request = revoke_gateway_key(&params).unwrap();
        assert_eq!(request.path, "/v3/gateways/a%2Fb/access_tokens/%2E%2E");
    }

    #[test]
    fn missing_or_empty_params_are_named() {
        let err = revoke_gateway_key(&Params::from_pairs([("gateway-id", GATEWAY)])).unwrap_err();
        assert_eq!(err.message, "parameter \"key-id\" is required");
        let err = create_gateway_key(&Params::from_pairs([("gateway-id", "")])).unwrap_err();
        assert_eq!(err.message, "parameter \"gateway-id\" must not be empty");
        let err = revoke_api_key(&Params::new()).unwrap_err();
        assert_eq!(err.message, "parameter \"api-key\" is required");
    }
}
