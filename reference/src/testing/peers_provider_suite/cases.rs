//! The cases of the peers provider suite, each on a fresh source and provider.

use crate::peers_provider::PeersProvider;
use crate::types::NodeId;

use super::{AddressBook, Members, PeersProviderFactory, difference, expected};

/// What [`a_bad_source_is_an_error_not_a_panic`] says of a factory without
/// [`PeersProviderFactory::spoil`]; the suite reports it as unsupported.
pub(super) const CANNOT_SPOIL: &str =
    "PeersProviderFactory::spoil returned Ok(false): this kind of source cannot be bad";

fn members(list: &[(NodeId, &str)]) -> Members {
    list.iter()
        .map(|(id, address)| (*id, (*address).to_owned()))
        .collect()
}

fn three() -> Members {
    members(&[
        (1, "10.0.0.1:7001"),
        (2, "10.0.0.2:7001"),
        (3, "10.0.0.3:7001"),
    ])
}

/// A provider for `own` on a fresh source of `members`, and the book of its peers.
fn open<F: PeersProviderFactory>(
    factory: &mut F,
    members: &Members,
    own: NodeId,
) -> Result<(F::Source, F::Provider, AddressBook), String> {
    let source = factory
        .create(members)
        .map_err(|error| format!("create a source: {error}"))?;
    let book = AddressBook::new();
    let provider = factory
        .open(&source, own, book.unwired())
        .map_err(|error| format!("open a provider for n{own}: {error}"))?;
    Ok((source, provider, book))
}

/// What `provider` lists now, checked against what a source of `members` says to `own`.
fn check_listing<P: PeersProvider>(
    provider: &P,
    book: &AddressBook,
    members: &Members,
    own: NodeId,
    when: &str,
) -> Result<Vec<(NodeId, String)>, String> {
    let listed = book.listing(&provider.peers())?;
    match difference(&listed, &expected(members, own)) {
        None => Ok(listed),
        Some(problems) => Err(format!(
            "{when}, the provider of n{own} lists {listed:?} for the source {members:?}: \
             {problems}"
        )),
    }
}

pub(super) fn lists_every_other_member_at_its_address<F: PeersProviderFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let members = three();
    let (_source, provider, book) = open(factory, &members, 1)?;
    check_listing(&provider, &book, &members, 1, "once opened").map(|_| ())
}

pub(super) fn never_lists_the_node_itself<F: PeersProviderFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let members = three();
    for own in [2, 3] {
        let (_source, provider, book) = open(factory, &members, own)?;
        check_listing(&provider, &book, &members, own, "once opened")?;
    }
    // A node the source does not list (one about to join) gets every member.
    let (_source, provider, book) = open(factory, &members, 9)?;
    check_listing(
        &provider,
        &book,
        &members,
        9,
        "for a node the source does not list",
    )
    .map(|_| ())
}

pub(super) fn each_id_once_in_a_stable_order<F: PeersProviderFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let members = members(&[(5, "b:1"), (1, "a:1"), (9, "c:1"), (4, "d:1"), (2, "e:1")]);
    let (_source, provider, book) = open(factory, &members, 4)?;
    let first = check_listing(&provider, &book, &members, 4, "once opened")?;
    for call in 2..=5 {
        let again = book.listing(&provider.peers())?;
        if again != first {
            return Err(format!(
                "call {call} of peers() listed {again:?}, the first {first:?}: the order \
                 must be stable while the source does not change"
            ));
        }
    }
    Ok(())
}

pub(super) fn a_change_is_listed_by_the_next_call<F: PeersProviderFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let before = three();
    let (mut source, provider, book) = open(factory, &before, 1)?;
    check_listing(&provider, &book, &before, 1, "once opened")?;
    let generation = provider.generation();
    // n2 moves, n3 leaves, n4 arrives.
    let after = members(&[
        (1, "10.0.0.1:7001"),
        (2, "10.0.1.2:7002"),
        (4, "10.0.0.4:7001"),
    ]);
    factory.update(&mut source, &after)?;
    factory
        .refresh(&provider)
        .map_err(|error| format!("refresh after a good change: {error}"))?;
    check_listing(&provider, &book, &after, 1, "after the source changed").map_err(|error| {
        format!("{error}: a stale list, so the node keeps calling old addresses")
    })?;
    if provider.generation() == generation {
        return Err(format!(
            "the list changed but generation() is still {generation}: the node keeps the list \
             it has until the generation moves, so it never sees the change"
        ));
    }
    // Every member leaves but this node.
    let alone = members(&[(1, "10.0.0.1:7001")]);
    factory.update(&mut source, &alone)?;
    factory
        .refresh(&provider)
        .map_err(|error| format!("refresh after a good change: {error}"))?;
    check_listing(&provider, &book, &alone, 1, "after every other member left").map(|_| ())
}

pub(super) fn generation_and_list_stay_while_nothing_changes<F: PeersProviderFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let members = three();
    let (mut source, provider, book) = open(factory, &members, 1)?;
    let first = check_listing(&provider, &book, &members, 1, "once opened")?;
    let generation = provider.generation();
    // The same members written again.
    factory.update(&mut source, &members)?;
    for _ in 0..3 {
        factory.refresh(&provider)?;
        let listed = check_listing(&provider, &book, &members, 1, "after a refresh")?;
        if listed != first {
            return Err(format!(
                "unchanged, the list went from {first:?} to {listed:?}"
            ));
        }
        if provider.generation() != generation {
            return Err(format!(
                "nothing changed, yet generation() went from {generation} to {}: the node \
                 asks for the list again before every message",
                provider.generation()
            ));
        }
    }
    Ok(())
}

pub(super) fn a_bad_source_is_an_error_not_a_panic<F: PeersProviderFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let members = three();
    let (mut source, provider, book) = open(factory, &members, 1)?;
    if !factory.spoil(&mut source)? {
        return Err(CANNOT_SPOIL.to_owned());
    }
    // An error is expected; a provider may also notice only later. Either way its list
    // must stay good.
    let _ = factory.refresh(&provider);
    check_listing(
        &provider,
        &book,
        &members,
        1,
        "after its source went bad (the last good list must stay)",
    )?;
    let fresh = AddressBook::new();
    if let Ok(opened) = factory.open(&source, 2, fresh.unwired()) {
        let listed = fresh.listing(&opened.peers())?;
        return Err(format!(
            "a provider opened on a bad source, listing {listed:?}: a node must not start \
             without knowing its peers, so opening must be an error naming what is wrong"
        ));
    }
    let repaired = members;
    factory.update(&mut source, &repaired)?;
    factory
        .refresh(&provider)
        .map_err(|error| format!("refresh after the source was repaired: {error}"))?;
    check_listing(
        &provider,
        &book,
        &repaired,
        1,
        "after the source was repaired",
    )
    .map(|_| ())
}
