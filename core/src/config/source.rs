//! Where the configuration text comes from: the `EDGE_STS_CONFIG` Worker variable (5 KB at most),
//! or a file embedded in the Worker at build time (`EDGE_STS_CONFIG_FILE=path scripts/build.sh`
//! sets the global [`EMBEDDED_GLOBAL`] to its text). Exactly one: with both, neither can be
//! assumed to be the one meant, so the configuration is refused (fail closed).
use super::{cerr, ConfigError};

/// The Worker variable holding the configuration.
pub const CONFIG_VAR: &str = "EDGE_STS_CONFIG";
/// The global that the embedded configuration module (build/edge-sts-config.js) sets.
pub const EMBEDDED_GLOBAL: &str = "__EDGE_STS_EMBEDDED_CONFIG";

/// The configuration text from the variable or the embedded file, whichever is present.
pub fn choose(variable: Option<String>, embedded: Option<String>) -> Result<String, ConfigError> {
    match (variable, embedded) {
        (Some(_), Some(_)) => Err(cerr(
            CONFIG_VAR,
            "set twice: as the EDGE_STS_CONFIG variable and embedded at build time (EDGE_STS_CONFIG_FILE)",
            "keep one: delete the EDGE_STS_CONFIG variable (wrangler.toml [vars], or the dashboard), or build without EDGE_STS_CONFIG_FILE",
        )),
        (Some(text), None) | (None, Some(text)) => Ok(text),
        (None, None) => Err(cerr(
            CONFIG_VAR,
            "not set",
            "set the EDGE_STS_CONFIG variable to the JSON configuration, or embed a file: EDGE_STS_CONFIG_FILE=path scripts/build.sh (docs/configuration.md)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_source() {
        let s = |t: &str| Some(t.to_owned());
        assert_eq!(choose(s("v"), None).unwrap(), "v");
        assert_eq!(choose(None, s("e")).unwrap(), "e");
        let both = choose(s("v"), s("e")).unwrap_err();
        assert_eq!(both.field, CONFIG_VAR);
        assert!(both.problem.contains("EDGE_STS_CONFIG variable") && both.problem.contains("embedded"), "{both}");
        // An empty variable is still a variable: the embedded text does not silently win.
        assert!(choose(s(""), s("e")).is_err());
        let none = choose(None, None).unwrap_err();
        assert_eq!((none.field.as_str(), none.problem.as_str()), (CONFIG_VAR, "not set"));
        assert!(none.fix.contains("EDGE_STS_CONFIG_FILE"));
    }
}
