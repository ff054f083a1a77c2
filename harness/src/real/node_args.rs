//! What `rafty node` is told, checked: its peers (from `--peer ID=HOST:PORT` flags; a peers
//! file is [`rafty::FilePeersProvider`]'s) and its Raft settings (a JSON file of `rafty::Config`).
//! Every refusal names the flag, or the file and line, and what was wrong.

use std::collections::BTreeMap;
use std::path::Path;

use rafty::{Config, NodeId, Settings};

/// One peer as written: `2=127.0.0.1:7002`. `what` names where it was written (a flag, or
/// `FILE:LINE`) for the error.
pub fn parse_peer(text: &str, what: &str) -> Result<(NodeId, String), String> {
    let bad = |why: &str| {
        format!("{what}: `{text}`: {why} (expected ID=HOST:PORT, e.g. 2=127.0.0.1:7002)")
    };
    let (id, addr) = text.split_once('=').ok_or_else(|| bad("no `=`"))?;
    let id: NodeId = id
        .trim()
        .parse()
        .map_err(|_| bad("the id is not a whole number"))?;
    if id == 0 {
        return Err(bad("node ids start at 1"));
    }
    let addr = addr.trim();
    check_address(addr).map_err(|why| bad(&why))?;
    Ok((id, addr.to_owned()))
}

/// `HOST:PORT` with a port from 1 to 65535 (0 is refused: a peer must be reachable).
pub fn check_address(addr: &str) -> Result<(), String> {
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| "the address has no `:PORT`".to_owned())?;
    if host.is_empty() {
        return Err("the address has no host".to_owned());
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("`{port}` is not a port from 1 to 65535")),
        Ok(_) => Ok(()),
    }
}

/// A listening address: `HOST:PORT`, where port 0 asks the system for a free one.
pub fn check_listen_address(addr: &str, flag: &str) -> Result<(), String> {
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| {
        format!("{flag} `{addr}`: no `:PORT` (e.g. 127.0.0.1:7001, or :0 for any port)")
    })?;
    if host.is_empty() {
        return Err(format!("{flag} `{addr}`: no host (e.g. 127.0.0.1:{port})"));
    }
    port.parse::<u16>()
        .map(|_| ())
        .map_err(|_| format!("{flag} `{addr}`: `{port}` is not a port from 0 to 65535"))
}

/// The peers from flags and file together, checked: none is the node itself, no id twice.
pub fn merge_peers(
    own: NodeId,
    lists: impl IntoIterator<Item = (NodeId, String)>,
) -> Result<Vec<(NodeId, String)>, String> {
    let mut peers = BTreeMap::new();
    for (id, addr) in lists {
        if id == own {
            return Err(format!(
                "peer {id}={addr}: that is this node's own id (--id {own}); list only the others"
            ));
        }
        if let Some(first) = peers.insert(id, addr.clone()) {
            return Err(format!("peer {id} is given twice ({first} and {addr})"));
        }
    }
    Ok(peers.into_iter().collect())
}

/// Read a settings file: a JSON object of `rafty::Config` fields (any left out keep their
/// defaults; durations as `{"secs": S, "nanos": N}`), validated.
pub fn read_settings(path: &Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("--settings {}: {error}", path.display()))?;
    let config: Config = serde_json::from_str(&text).map_err(|error| {
        format!(
            "--settings {}:{}:{}: {error}",
            path.display(),
            error.line(),
            error.column()
        )
    })?;
    config
        .validate()
        .map_err(|error| format!("--settings {}: {error}", path.display()))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_an_id_and_an_address() {
        assert_eq!(
            parse_peer("2=127.0.0.1:7002", "--peer"),
            Ok((2, "127.0.0.1:7002".to_owned()))
        );
        for bad in [
            "2",
            "x=127.0.0.1:1",
            "0=127.0.0.1:1",
            "2=127.0.0.1",
            "2=:80",
            "2=h:0",
            "2=h:70000",
        ] {
            let error = parse_peer(bad, "--peer").unwrap_err();
            assert!(error.starts_with("--peer: `"), "{bad}: {error}");
            assert!(error.contains("expected ID=HOST:PORT"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_node_itself_and_twice_given_peers_are_refused() {
        let own = merge_peers(1, [(1, "a:1".to_owned())]).unwrap_err();
        assert!(own.contains("this node's own id"), "{own}");
        let twice = merge_peers(1, [(2, "a:1".to_owned()), (2, "b:2".to_owned())]).unwrap_err();
        assert!(twice.contains("peer 2 is given twice"), "{twice}");
    }

    #[test]
    fn a_listening_address_may_ask_for_any_port() {
        assert_eq!(check_listen_address("127.0.0.1:0", "--raft"), Ok(()));
        let error = check_listen_address("127.0.0.1", "--raft").unwrap_err();
        assert!(error.starts_with("--raft `127.0.0.1`"), "{error}");
    }

    #[test]
    fn bad_settings_name_the_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings.json");
        std::fs::write(&file, "{\n  \"max_append_entriez\": 3\n}\n").unwrap();
        let error = read_settings(&file).unwrap_err();
        assert!(error.contains(":2:"), "{error}");
        assert!(error.contains("max_append_entriez"), "{error}");
        std::fs::write(&file, "{\"max_append_entries\": 0}").unwrap();
        let error = read_settings(&file).unwrap_err();
        assert!(error.contains("max_append_entries"), "{error}");
    }
}
