use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::tcp::{TcpPeer, TokioConnector, TransportConfig};

/// Peers that never dial (no call is made): only their id and address matter here.
fn connect() -> Box<ConnectPeer> {
    Box::new(|id, address: &str| {
        Arc::new(TcpPeer::new(
            TokioConnector,
            1,
            id,
            address.to_owned(),
            TransportConfig::new(1),
        )) as Arc<dyn Peer>
    })
}

fn member(id: u64, address: &str) -> String {
    format!("[[member]]\nid = {id}\naddress = \"{address}\"\n\n")
}

fn ids(provider: &FilePeersProvider) -> Vec<NodeId> {
    provider.peers().iter().map(|peer| peer.id()).collect()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_good_file_gives_every_member_but_the_node_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("peers.toml");
    let text = member(3, "127.0.0.1:7003") + &member(1, "127.0.0.1:7001") + &member(2, "h:7002");
    write(&path, &text);
    let provider = FilePeersProvider::open(&path, 1, connect()).unwrap();
    assert_eq!(ids(&provider), vec![2, 3]);
    assert_eq!(provider.members().len(), 3);
    assert_eq!(provider.members()[&2], "h:7002");
}

#[test]
fn a_bad_file_is_refused_naming_its_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("peers.toml");
    let cases = [
        // (text, line, field, words of the reason)
        (
            member(2, "h:1") + "[[member]]\nid = 3\naddress = \"h\"\n",
            7,
            Some("address"),
            "no `:PORT`",
        ),
        (
            member(2, "h:1") + "[[member]]\nid = 0\naddress = \"h:2\"\n",
            6,
            Some("id"),
            "ids start at 1",
        ),
        (
            member(2, "h:1") + &member(2, "h:2"),
            6,
            Some("id"),
            "listed twice",
        ),
        (
            member(2, "h:1") + "[[member]]\nid = 3\nadress = \"h:3\"\n",
            7,
            None,
            "adress",
        ),
        (
            "[[member]]\nid = 2\naddress = \"h:1\n".to_owned(),
            3,
            None,
            "",
        ),
    ];
    for (text, line, field, words) in cases {
        write(&path, &text);
        let error = FilePeersProvider::open(&path, 1, connect())
            .err()
            .unwrap_or_else(|| panic!("accepted:\n{text}"));
        assert_eq!(error.line, Some(line), "{error}\n{text}");
        assert_eq!(error.field.as_deref(), field, "{error}");
        assert!(error.reason.contains(words), "{error}");
        let shown = error.to_string();
        assert!(
            shown.starts_with(&format!("{}:{line}", path.display())),
            "{shown}"
        );
    }
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    let error = FilePeersProvider::open(&path, 1, connect()).err().unwrap();
    assert!(error.to_string().contains("absent.toml"), "{error}");
}

#[test]
fn a_change_is_picked_up_and_bumps_the_generation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("peers.toml");
    write(&path, &(member(2, "h:7002") + &member(3, "h:7003")));
    let provider = FilePeersProvider::open(&path, 1, connect()).unwrap();
    let generation = provider.generation();
    let kept = provider.peers()[0].clone();
    assert_eq!(
        provider.reload(),
        Ok(false),
        "an unchanged file is no change"
    );
    assert_eq!(provider.generation(), generation);
    write(
        &path,
        &(member(2, "h:7002") + &member(3, "h:9003") + &member(4, "h:7004")),
    );
    assert_eq!(provider.reload(), Ok(true));
    assert_ne!(provider.generation(), generation);
    assert_eq!(ids(&provider), vec![2, 3, 4]);
    assert_eq!(provider.members()[&3], "h:9003");
    assert!(
        Arc::ptr_eq(&kept, &provider.peers()[0]),
        "a member whose address is unchanged keeps its peer (and connection)"
    );
}

#[test]
fn a_bad_change_keeps_the_old_list_until_a_good_one_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("peers.toml");
    write(&path, &(member(2, "h:7002") + &member(3, "h:7003")));
    let provider = FilePeersProvider::open(&path, 1, connect()).unwrap();
    let generation = provider.generation();
    write(
        &path,
        &(member(2, "h:7002") + "[[member]]\nid = 3\naddress = \"h:0\"\n"),
    );
    let error = provider.reload().unwrap_err();
    assert_eq!(error.line, Some(7), "{error}");
    assert_eq!(ids(&provider), vec![2, 3], "the old list stays in force");
    assert_eq!(provider.members()[&3], "h:7003");
    assert_eq!(provider.generation(), generation);
    assert_eq!(provider.reload(), Ok(false), "a bad file is reported once");
    write(&path, &member(2, "h:7002"));
    assert_eq!(provider.reload(), Ok(true));
    assert_eq!(ids(&provider), vec![2]);
}

#[tokio::test(start_paused = true)]
async fn watching_polls_the_file_on_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("peers.toml");
    write(&path, &member(2, "h:7002"));
    let provider = Arc::new(FilePeersProvider::open(&path, 1, connect()).unwrap());
    let watcher = provider.watch(Duration::from_secs(1));
    write(&path, &(member(2, "h:7002") + &member(3, "h:7003")));
    assert_eq!(ids(&provider), vec![2], "not read before the interval ends");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(ids(&provider), vec![2, 3]);
    drop(provider);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(watcher.is_finished(), "the watch ends with the provider");
}
