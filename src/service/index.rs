//! What every instance keeps in memory so that screening and authorization
//! need no round trip to the database: the screening index and the cache of
//! token holders, both kept current by following the change stream
//! (`db::changes`).
//!
//! The screening index holds every subject whose name alone can matter to a
//! screening — with a listing in status `listed`, or bound to a party with
//! such a listing — with their identifiers, names (found by their comparable
//! keys), listings and relations, and the public list version they belong
//! to. About one subject in ten at the scale of docs/BENCHMARKS.md. A
//! subject outside it is found by its identifiers in the database (one
//! query) and answered from that row: its name, kind, score, band and the
//! penalties platforms are shown, with no listing of its own or of a party.
//! (Subjects with penalties but no listing were kept here too until the
//! 1,000,000-subject run showed they were half the index's memory for a
//! lookup the database answers in one indexed query.)
//!
//! [`Live::refresh`] reads, in one snapshot of the database, the changes
//! since the index's position, the list-version counter and the rows of
//! every changed subject (and of the subjects bound to a party whose listed
//! state changed), and applies them under the write lock. A gap in the
//! stream, a bulk load, or a delta too large to be worth it rebuilds the
//! whole index. A request reads the index under the read lock, so an answer
//! always comes from one version of it; the day itself (a listing's last
//! day, a relation's end) is applied at answer time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use smallvec::SmallVec;

use super::ServiceResult;
use crate::db::accounts::User;
use crate::db::publication::{Entry as PublicRow, EntryRow, PublicSearch};
use crate::db::relations as relations_store;
use crate::db::screening::{self as store, ActiveListing, KeyedSummary, SubjectSummary};
use crate::db::{changes, publication, read_snapshot, Db, DbConn, DbError};
use crate::domain::names::{self, U64Keys};
use crate::domain::relations::RelationKind;

/// How often each instance looks at the change stream.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// The most an answer may lag behind a change committed on any instance
/// (docs/ARCHITECTURE.md): older than this, a request brings the index up
/// to date itself before answering, and the token-holder cache is bypassed.
pub const MAX_STALENESS: Duration = Duration::from_secs(1);
/// A delta with more changes than this is applied by rebuilding.
const MAX_DELTA: i64 = 20_000;
/// Subjects loaded per round of queries.
const LOAD_CHUNK: usize = 1000;

/// An entry's place in [`State`]'s slab. The maps and posting lists point
/// to entries by slot: 4 bytes a reference instead of a shared id's 16, and
/// at 1,000,000 subjects the name-key maps hold millions of references.
type Slot = u32;
/// Text that many entries share (a reason, a legal basis, an authority, a
/// platform), kept once.
type Shared = Arc<str>;

/// Keeps one copy of each shared text.
#[derive(Debug, Default)]
struct Interner(HashSet<Shared>);

impl Interner {
    fn text(&mut self, text: &str) -> Shared {
        if let Some(kept) = self.0.get(text) {
            return kept.clone();
        }
        let kept: Shared = Arc::from(text);
        self.0.insert(kept.clone());
        kept
    }

    fn entry(&mut self, entry: &mut Entry) {
        for l in entry.listings.iter_mut() {
            l.reason = self.text(&l.reason);
            l.legal_basis = self.text(&l.legal_basis);
            l.authority = l.authority.as_deref().map(|a| self.text(a));
        }
        for a in entry.accounts.iter_mut() {
            a.platform = self.text(&a.platform);
        }
    }
}

/// A listing in status `listed` of an indexed subject, with its public fields.
#[derive(Debug)]
pub struct Listing {
    pub id: Box<str>,
    pub listed_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub reason: Shared,
    pub decision_no: Option<Box<str>>,
    pub legal_basis: Shared,
    /// The name of the deciding authority.
    pub authority: Option<Shared>,
}

impl Listing {
    fn of(l: ActiveListing) -> Self {
        Self {
            id: l.listing_id.into(),
            listed_on: l.listed_on,
            expires_on: l.expires_on,
            reason: l.reason.into(),
            decision_no: l.decision_no.map(Into::into),
            legal_basis: l.legal_basis.into(),
            authority: l.authority.map(Into::into),
        }
    }

    /// In force through `expires_on` itself (as `listings::in_force_on`).
    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.expires_on.is_some_and(|last| last >= day)
    }
}

/// A relation of an indexed subject (as the bound party).
#[derive(Debug)]
pub struct Bond {
    pub party: Box<str>,
    pub relation: RelationKind,
    pub valid_from: NaiveDate,
    /// The day it ended (it no longer holds on that day).
    pub valid_to: Option<NaiveDate>,
}

/// An account of an indexed subject.
#[derive(Debug)]
struct Account {
    /// Shared with the state's map of accounts.
    key: Shared,
    platform: Shared,
    handle: Box<str>,
}

/// A name or alias of an indexed subject. Its comparable keys are kept only
/// in the state's key maps: a query computes them again for the few
/// candidates it compares (memory over microseconds).
#[derive(Debug)]
pub struct IndexedName {
    pub position: i32,
    pub name: Box<str>,
}

/// One indexed subject: what a screening answer shows of it.
#[derive(Debug)]
pub struct Entry {
    pub summary: SubjectSummary,
    id_number_hash: Option<HashKey>,
    /// Shared with the state's map of USCCs.
    uscc: Option<Shared>,
    id_number_masked: Option<Box<str>>,
    /// In account-key order. The lists are boxed slices, allocated to their
    /// exact length: a `Vec` grown by pushes keeps room for four.
    accounts: Box<[Account]>,
    pub names: Box<[IndexedName]>,
    /// Its listings in status `listed`, in listing-id order (in force, or
    /// ended with the expiry not yet recorded: see [`Listing::in_force_on`]).
    pub listings: Box<[Listing]>,
    /// Its relations (as the bound party) not ended when loaded. It holds a
    /// listing in status `listed` or a party it is bound to does, as loaded:
    /// a party whose listed state changes has its bound subjects reloaded.
    pub relations: Box<[Bond]>,
}

/// A resident-ID hash (64 hex digits) as its 32 bytes.
type HashKey = [u8; 32];

fn hash_key(hex_digits: &str) -> Option<HashKey> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex_digits, &mut key).ok()?;
    Some(key)
}

impl Entry {
    /// Holds a listing in status `listed`.
    pub fn listed(&self) -> bool {
        !self.listings.is_empty()
    }

    /// Its listings in force on `day`.
    pub fn in_force(&self, day: NaiveDate) -> impl Iterator<Item = &Listing> {
        self.listings.iter().filter(move |l| l.in_force_on(day))
    }

    /// Its relations that hold on `day`.
    pub fn holding(&self, day: NaiveDate) -> impl Iterator<Item = &Bond> {
        self.relations
            .iter()
            .filter(move |r| r.valid_from <= day && r.valid_to.is_none_or(|to| to > day))
    }
}

/// The kinds of name key the index looks names up by.
#[derive(Debug, Clone, Copy)]
pub enum KeyKind {
    Pinyin,
    Text,
    Initials,
    /// Two adjacent characters of a listed subject's name: the public
    /// search for text within a name looks its rarest pair up.
    Pair,
}

/// One version of the index.
#[derive(Debug, Default)]
pub struct State {
    /// The change-stream position it reflects.
    seq: i64,
    /// The public list version counter at that position, and when it moved.
    counter: i64,
    changed_at: NaiveDateTime,
    built: bool,
    /// The entries by slot; a removed entry's slot is reused. Boxed: a
    /// free slot or spare capacity then costs a pointer, not an entry.
    slots: Vec<Option<Box<Entry>>>,
    free: Vec<Slot>,
    /// The slot of each subject id.
    slot_of: HashMap<Box<str>, Slot>,
    by_hash: HashMap<HashKey, Slot>,
    by_uscc: HashMap<Shared, Slot>,
    by_account: HashMap<Shared, Slot>,
    /// The subjects with each name key, one map per [`KeyKind`], by the
    /// key's hash under `key_hasher` (so the maps hash it cheaply: see
    /// [`U64Keys`]); most keys have one or two subjects, kept without an
    /// allocation of their own. Keys that share a hash only add candidates,
    /// and every query checks its candidates' names themselves
    /// (`public_match`, the screening's similarity).
    keys: [HashMap<u64, SmallVec<[Slot; 2]>, U64Keys>; 4],
    /// Random for each state, so that no one can choose names that collide.
    key_hasher: RandomState,
    /// Listings in status `listed` by their last day: those whose last day
    /// has passed are expiries not yet recorded, which the version counts.
    last_days: BTreeMap<NaiveDate, usize>,
    /// Listings in status `listed`, by listing id: their subjects.
    listed: BTreeMap<Box<str>, Slot>,
    /// Every platform an indexed account is on.
    platforms: HashSet<Shared>,
    texts: Interner,
}

impl State {
    /// The public list version on `day` (as `db::publication::version`).
    pub fn list_version(&self, day: NaiveDate) -> i64 {
        self.version(day).0
    }

    /// The public list version on `day` and when the list last changed (as
    /// `db::publication::version`).
    pub fn version(&self, day: NaiveDate) -> (i64, NaiveDateTime) {
        let ended = self.last_days.range(..day);
        let pending: usize = ended.clone().map(|(_, n)| n).sum();
        let latest = ended.map(|(d, _)| *d).next_back();
        publication::version_with((self.counter, self.changed_at), pending, latest)
    }

    pub fn entry(&self, subject_id: &str) -> Option<&Entry> {
        self.at(*self.slot_of.get(subject_id)?)
    }

    /// The entry in `slot`.
    fn at(&self, slot: Slot) -> Option<&Entry> {
        self.slots.get(slot as usize)?.as_deref()
    }

    /// The subject id of the entry in `slot`.
    fn id_at(&self, slot: Slot) -> Option<&str> {
        self.at(slot).map(|e| e.summary.id.as_str())
    }

    /// How many subjects it holds.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    pub fn by_id_number_hash(&self, hash: &str) -> Option<&str> {
        self.id_at(*self.by_hash.get(&hash_key(hash)?)?)
    }

    pub fn by_uscc(&self, uscc: &str) -> Option<&str> {
        self.id_at(*self.by_uscc.get(uscc)?)
    }

    pub fn by_account(&self, key: &str) -> Option<&str> {
        self.id_at(*self.by_account.get(key)?)
    }

    /// Subjects with a name key of `kind` equal to `key`.
    pub fn with_key(&self, kind: KeyKind, key: &str) -> impl Iterator<Item = &str> + '_ {
        self.slots_with_key(kind, key)
            .iter()
            .filter_map(|&slot| self.id_at(slot))
    }

    /// The slots of the subjects with a name key of `kind` equal to `key`.
    fn slots_with_key(&self, kind: KeyKind, key: &str) -> &[Slot] {
        self.keys[kind as usize]
            .get(&self.key_hasher.hash_one(key))
            .map(SmallVec::as_slice)
            .unwrap_or_default()
    }

    /// Up to `limit` entries in force on `day` that match `search`, after
    /// the listing id `after`, in listing-id order: the public list is the
    /// listings in status `listed`, all of them here (as
    /// `db::publication::active_entries` reads them from the database).
    ///
    /// Without criteria it walks the listings in id order from `after`;
    /// with criteria it looks the candidates up in the key maps (whole
    /// names, identifiers, handles on every platform, and the rarest pair
    /// of characters for text within a name) and checks each.
    pub fn public_entries(
        &self,
        day: NaiveDate,
        search: &PublicSearch,
        after: Option<&str>,
        limit: usize,
    ) -> Vec<PublicRow> {
        use std::ops::Bound;
        let shown = |entry: &Entry, listing: &Listing| {
            listing.in_force_on(day)
                && after.is_none_or(|a| &*listing.id > a)
                && search.kind.is_none_or(|k| k == entry.summary.kind)
        };
        if search.is_empty() {
            let from = after.map_or(Bound::Unbounded, Bound::Excluded);
            return self
                .listed
                .range::<str, _>((from, Bound::Unbounded))
                .filter_map(|(listing_id, &slot)| {
                    let entry = self.at(slot)?;
                    let listing = entry.listings.iter().find(|l| l.id == *listing_id)?;
                    shown(entry, listing).then(|| public_row(entry, listing))
                })
                .take(limit)
                .collect();
        }
        let mut candidates: Vec<Slot> = Vec::new();
        candidates.extend(search.uscc.as_deref().and_then(|u| self.by_uscc.get(u)));
        candidates.extend(
            search
                .id_number_hash
                .as_deref()
                .and_then(hash_key)
                .and_then(|h| self.by_hash.get(&h)),
        );
        if let Some(text) = &search.simplified {
            candidates.extend(self.slots_with_key(KeyKind::Text, text));
        }
        for p in &search.pinyin {
            candidates.extend(self.slots_with_key(KeyKind::Pinyin, p));
        }
        if let Some(handle) = &search.account_handle {
            for platform in &self.platforms {
                candidates.extend(self.by_account.get(format!("{platform}:{handle}").as_str()));
            }
        }
        // Every pair of the text is in a name that holds it: the rarest
        // pair gives the fewest candidates (a company name's "公司" is in
        // every third listed name).
        if let Some(slots) = search.within_names().and_then(|text| {
            names::pairs(text)
                .iter()
                .map(|pair| self.slots_with_key(KeyKind::Pair, pair))
                .min_by_key(|slots| slots.len())
        }) {
            candidates.extend(slots);
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut rows: Vec<(&Entry, &Listing)> = candidates
            .into_iter()
            .filter_map(|slot| self.at(slot))
            .filter(|entry| public_match(entry, search))
            .flat_map(|entry| {
                entry
                    .listings
                    .iter()
                    .filter(|l| shown(entry, l))
                    .map(move |l| (entry, l))
            })
            .collect();
        rows.sort_by(|a, b| a.1.id.cmp(&b.1.id));
        rows.into_iter()
            .take(limit)
            .map(|(entry, listing)| public_row(entry, listing))
            .collect()
    }

    fn insert(&mut self, mut entry: Entry) {
        self.remove(&entry.summary.id);
        self.texts.entry(&mut entry);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                Slot::try_from(self.slots.len() - 1).expect("fewer than 2^32 indexed subjects")
            }
        };
        if let Some(h) = entry.id_number_hash {
            self.by_hash.insert(h, slot);
        }
        if let Some(u) = &entry.uscc {
            self.by_uscc.insert(u.clone(), slot);
        }
        for a in &entry.accounts {
            self.by_account.insert(a.key.clone(), slot);
        }
        for (kind, key) in index_keys(&entry) {
            self.keys[kind as usize]
                .entry(self.key_hasher.hash_one(key.as_str()))
                .or_default()
                .push(slot);
        }
        for a in &entry.accounts {
            self.platforms.insert(a.platform.clone());
        }
        for l in &entry.listings {
            if let Some(day) = l.expires_on {
                *self.last_days.entry(day).or_default() += 1;
            }
            self.listed.insert(l.id.clone(), slot);
        }
        self.slot_of.insert(entry.summary.id.as_str().into(), slot);
        self.slots[slot as usize] = Some(Box::new(entry));
    }

    fn remove(&mut self, subject_id: &str) {
        let Some(slot) = self.slot_of.remove(subject_id) else {
            return;
        };
        let Some(entry) = self.slots[slot as usize].take() else {
            return;
        };
        self.free.push(slot);
        let owned = |map: &mut HashMap<Shared, Slot>, key: &str| {
            if map.get(key) == Some(&slot) {
                map.remove(key);
            }
        };
        if let Some(h) = &entry.id_number_hash {
            if self.by_hash.get(h) == Some(&slot) {
                self.by_hash.remove(h);
            }
        }
        if let Some(u) = &entry.uscc {
            owned(&mut self.by_uscc, u);
        }
        for a in &entry.accounts {
            owned(&mut self.by_account, &a.key);
        }
        for (kind, key) in index_keys(&entry) {
            let hash = self.key_hasher.hash_one(key.as_str());
            let map = &mut self.keys[kind as usize];
            if let Some(slots) = map.get_mut(&hash) {
                slots.retain(|s| *s != slot);
                if slots.is_empty() {
                    map.remove(&hash);
                }
            }
        }
        for l in &entry.listings {
            self.listed.remove(&l.id);
            let Some(day) = l.expires_on else { continue };
            if let Some(n) = self.last_days.get_mut(&day) {
                *n -= 1;
                if *n == 0 {
                    self.last_days.remove(&day);
                }
            }
        }
    }
}

/// Whether an entry matches a public search (any criterion; all when none).
fn public_match(entry: &Entry, search: &PublicSearch) -> bool {
    if search.is_empty() {
        return true;
    }
    let by_identifier = search
        .uscc
        .as_deref()
        .is_some_and(|u| entry.uscc.as_deref() == Some(u))
        || search
            .id_number_hash
            .as_deref()
            .and_then(hash_key)
            .is_some_and(|h| entry.id_number_hash == Some(h));
    let within = search.within_names();
    // The text key first: the pinyin readings cost more, and most
    // candidates of a search in Han characters match on the text.
    by_identifier
        || entry.names.iter().any(|n| {
            let text = names::text_key(&n.name);
            search.simplified.as_deref() == Some(text.as_str())
                || within.is_some_and(|within| text.contains(within))
                || (!search.pinyin.is_empty()
                    && names::pinyin_keys(&n.name)
                        .iter()
                        .any(|p| search.pinyin.contains(p)))
        })
        || search
            .account_handle
            .as_ref()
            .is_some_and(|h| entry.accounts.iter().any(|a| *a.handle == **h))
}

fn public_row(entry: &Entry, listing: &Listing) -> PublicRow {
    PublicRow {
        row: EntryRow {
            listing_id: listing.id.to_string(),
            decision_no: listing.decision_no.as_deref().map(str::to_owned),
            reason: listing.reason.to_string(),
            legal_basis: listing.legal_basis.to_string(),
            listed_on: listing.listed_on,
            expires_on: listing.expires_on,
            authority: listing.authority.as_deref().map(str::to_owned),
            subject_id: entry.summary.id.clone(),
            name: entry.summary.name.clone(),
            kind: entry.summary.kind,
            id_number_masked: entry.id_number_masked.as_deref().map(str::to_owned),
            uscc: entry.uscc.as_deref().map(str::to_owned),
        },
        accounts: entry
            .accounts
            .iter()
            .map(|a| (a.platform.to_string(), a.handle.to_string()))
            .collect(),
    }
}

/// The name keys an entry is found by, each once: those of its names, and
/// the character pairs of a listed subject's names.
fn index_keys(entry: &Entry) -> Vec<(KeyKind, String)> {
    let mut keys: Vec<(KeyKind, String)> = Vec::new();
    for k in entry.names.iter().map(|n| names::name_keys(&n.name)) {
        keys.extend(k.pinyin.iter().map(|p| (KeyKind::Pinyin, p.clone())));
        if !k.text.is_empty() {
            keys.push((KeyKind::Text, k.text.clone()));
        }
        keys.extend(k.initials.iter().map(|i| (KeyKind::Initials, i.clone())));
        if entry.listed() {
            keys.extend(
                names::pairs(&k.text)
                    .into_iter()
                    .map(|p| (KeyKind::Pair, p)),
            );
        }
    }
    keys.sort_by(|a, b| (a.0 as usize, &a.1).cmp(&(b.0 as usize, &b.1)));
    keys.dedup_by(|a, b| a.0 as usize == b.0 as usize && a.1 == b.1);
    keys
}

/// Loads the entries of `ids` that belong in the index (see the module's
/// comment), in rounds of [`LOAD_CHUNK`] subjects.
fn load(conn: &mut DbConn, ids: &[String], today: NaiveDate) -> Result<Vec<Entry>, DbError> {
    let mut entries = Vec::new();
    for chunk in ids.chunks(LOAD_CHUNK) {
        entries.extend(load_chunk(conn, chunk, today)?);
    }
    Ok(entries)
}

/// Entries as loaded hold their own copies of the shared texts; inserting
/// them into the state replaces those with its copies (`Interner`).
fn load_chunk(conn: &mut DbConn, ids: &[String], today: NaiveDate) -> Result<Vec<Entry>, DbError> {
    let mut names: HashMap<String, Vec<(i32, String)>> = HashMap::new();
    for (subject, position, name) in store::names_of(conn, ids)? {
        names.entry(subject).or_default().push((position, name));
    }
    let mut accounts: HashMap<String, Vec<Account>> = HashMap::new();
    for a in store::accounts_of(conn, ids)? {
        accounts.entry(a.subject_id).or_default().push(Account {
            key: a.key.into(),
            platform: a.platform.into(),
            handle: a.handle.into(),
        });
    }
    let mut listings: HashMap<String, Vec<Listing>> = HashMap::new();
    for l in store::listed_listings_of(conn, ids)? {
        let subject = l.subject_id.clone();
        listings.entry(subject).or_default().push(Listing::of(l));
    }
    let mut relations: HashMap<String, Vec<Bond>> = HashMap::new();
    for r in relations_store::unended_relations_of(conn, ids, today)? {
        relations.entry(r.subject_id).or_default().push(Bond {
            party: r.related_subject_id.into(),
            relation: r.relation,
            valid_from: r.valid_from,
            valid_to: r.valid_to,
        });
    }
    let parties: Vec<String> = relations
        .values()
        .flatten()
        .map(|r| r.party.to_string())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let listed_parties: HashSet<String> = store::with_listed_listing(conn, &parties)?
        .into_iter()
        .collect();
    let mut entries = Vec::with_capacity(ids.len());
    for KeyedSummary {
        summary,
        id_number_hash,
        uscc,
        id_number_masked,
    } in store::keyed_summaries(conn, ids)?
    {
        let id = summary.id.clone();
        let listings = listings.remove(&id).unwrap_or_default();
        let relations = relations.remove(&id).unwrap_or_default();
        let bound = relations.iter().any(|r| listed_parties.contains(&*r.party));
        if listings.is_empty() && !bound {
            continue;
        }
        let mut own_names: Vec<IndexedName> = names
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .map(|(position, name)| IndexedName {
                position,
                name: name.into(),
            })
            .collect();
        own_names.sort_by_key(|n| n.position);
        entries.push(Entry {
            accounts: accounts.remove(&id).unwrap_or_default().into(),
            names: own_names.into(),
            summary,
            id_number_hash: id_number_hash.as_deref().and_then(hash_key),
            uscc: uscc.map(Into::into),
            id_number_masked: id_number_masked.map(Into::into),
            listings: listings.into(),
            relations: relations.into(),
        });
    }
    Ok(entries)
}

/// Builds the whole index from one snapshot of the database, logging its progress.
fn build(conn: &mut DbConn, today: NaiveDate) -> Result<State, DbError> {
    read_snapshot(conn, |conn| {
        let started = Instant::now();
        let seq = changes::head(conn)?;
        let (counter, changed_at) = publication::stored_version(conn)?;
        let members = store::index_members(conn, today)?;
        let mut state = State {
            seq,
            counter,
            changed_at,
            built: true,
            ..Default::default()
        };
        let step = (members.len() / 10).max(LOAD_CHUNK);
        let mut next_report = step;
        for (n, chunk) in members.chunks(LOAD_CHUNK).enumerate() {
            for entry in load_chunk(conn, chunk, today)? {
                state.insert(entry);
            }
            let done = (n + 1) * LOAD_CHUNK;
            if done >= next_report && done < members.len() {
                tracing::info!(
                    loaded = done,
                    of = members.len(),
                    "building the screening index"
                );
                next_report += step;
            }
        }
        tracing::info!(
            subjects = state.len(),
            change_seq = seq,
            list_counter = counter,
            ms = started.elapsed().as_millis() as u64,
            "built the screening index"
        );
        Ok(state)
    })
}

/// What one look at the change stream found.
enum Delta {
    /// Nothing new.
    None,
    /// Too much, a gap, or a bulk load: start again.
    Rebuild,
    Apply {
        seq: i64,
        counter: (i64, NaiveDateTime),
        /// Subjects whose entries are replaced by `entries` (or dropped).
        reload: Vec<String>,
        entries: Vec<Entry>,
        users: Vec<String>,
    },
}

/// Reads what changed after the state's position, in one snapshot.
fn delta(conn: &mut DbConn, live: &Live, today: NaiveDate) -> Result<Delta, DbError> {
    let (seq, counter) = {
        let state = live.read();
        (state.seq, (state.counter, state.changed_at))
    };
    read_snapshot(conn, |conn| {
        let head = changes::head(conn)?;
        let now_counter = publication::stored_version(conn)?;
        if head == seq && now_counter == counter {
            return Ok(Delta::None);
        }
        if head - seq > MAX_DELTA || head < seq {
            return Ok(Delta::Rebuild);
        }
        let rows = changes::after(conn, seq, MAX_DELTA)?;
        let contiguous = rows
            .iter()
            .enumerate()
            .all(|(i, c)| c.seq == seq + 1 + i as i64);
        if !contiguous
            || rows.len() as i64 != head - seq
            || rows.iter().any(|c| c.kind == changes::EVERYTHING)
        {
            return Ok(Delta::Rebuild);
        }
        let mut subjects: Vec<String> = Vec::new();
        let mut users: Vec<String> = Vec::new();
        for c in rows {
            match c.kind.as_str() {
                changes::SUBJECT => subjects.push(c.key),
                changes::USER => users.push(c.key),
                _ => {}
            }
        }
        subjects.sort_unstable();
        subjects.dedup();
        users.sort_unstable();
        users.dedup();
        let mut entries = load(conn, &subjects, today)?;
        // A party whose listed state changed changes what the subjects bound
        // to it answer: reload those too.
        let flipped: Vec<String> = {
            let state = live.read();
            let now_listed: HashSet<&str> = entries
                .iter()
                .filter(|e| e.listed())
                .map(|e| e.summary.id.as_str())
                .collect();
            subjects
                .iter()
                .filter(|id| {
                    state.entry(id).is_some_and(Entry::listed) != now_listed.contains(id.as_str())
                })
                .cloned()
                .collect()
        };
        let mut reload = subjects;
        if !flipped.is_empty() {
            let holders: Vec<String> = relations_store::holders_of(conn, &flipped, today)?
                .into_iter()
                .filter(|id| reload.binary_search(id).is_err())
                .collect();
            entries.extend(load(conn, &holders, today)?);
            reload.extend(holders);
        }
        Ok(Delta::Apply {
            seq: head,
            counter: now_counter,
            reload,
            entries,
            users,
        })
    })
}

/// A user as an access token's check needs them.
pub type TokenHolder = (super::Staff, User);

/// The instance's followers of the change stream: the screening index and
/// the token-holder cache. Cloning shares them.
#[derive(Clone)]
pub struct Live(Arc<Inner>);

struct Inner {
    db: Db,
    state: RwLock<State>,
    holders: Mutex<HashMap<String, TokenHolder>>,
    /// When the state last matched the database's head, and this process's
    /// committed changes then (`changes::local_commits`).
    checked: Mutex<Option<(Instant, u64)>>,
    /// One follower at a time.
    following: tokio::sync::Mutex<()>,
}

impl Live {
    /// An empty follower of `db`'s change stream; the index is built by the
    /// first [`Live::refresh`] (or the first request that needs it).
    pub fn new(db: Db) -> Self {
        Self(Arc::new(Inner {
            db,
            state: RwLock::new(State::default()),
            holders: Mutex::new(HashMap::new()),
            checked: Mutex::new(None),
            following: tokio::sync::Mutex::new(()),
        }))
    }

    /// The index as it is now; hold the guard only while computing an answer.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.0.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the index (and the cache) matched the database's head less
    /// than [`MAX_STALENESS`] ago, and this instance has committed no change
    /// since: an instance answers its own writes at once.
    pub fn fresh(&self) -> bool {
        self.0
            .checked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|(at, commits)| {
                at.elapsed() < MAX_STALENESS && commits == self.0.db.local_commits()
            })
    }

    /// The index, brought up to date first unless it is fresh.
    pub async fn current(&self) -> ServiceResult<RwLockReadGuard<'_, State>> {
        if !self.fresh() {
            let _one = self.0.following.lock().await;
            // Requests that waited here behind another's look need not look again.
            if !self.fresh() {
                self.follow().await?;
            }
        }
        Ok(self.read())
    }

    /// Follows the change stream up to the database's head.
    pub async fn refresh(&self) -> ServiceResult<()> {
        let _one = self.0.following.lock().await;
        self.follow().await
    }

    /// [`Self::refresh`], with `following` held by the caller.
    async fn follow(&self) -> ServiceResult<()> {
        let started = (Instant::now(), self.0.db.local_commits());
        let today = super::today();
        let built = self.read().built;
        let this = self.clone();
        let delta = if built {
            self.0
                .db
                .run(move |conn| -> ServiceResult<_> { Ok(delta(conn, &this, today)?) })
                .await?
        } else {
            Delta::Rebuild
        };
        match delta {
            Delta::None => {}
            Delta::Rebuild => {
                let state = self
                    .0
                    .db
                    .run(move |conn| -> ServiceResult<_> { Ok(build(conn, today)?) })
                    .await?;
                *self.0.state.write().unwrap_or_else(|e| e.into_inner()) = state;
                self.0
                    .holders
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
            }
            Delta::Apply {
                seq,
                counter,
                reload,
                entries,
                users,
            } => {
                {
                    let mut state = self.0.state.write().unwrap_or_else(|e| e.into_inner());
                    for id in &reload {
                        state.remove(id);
                    }
                    for entry in entries {
                        state.insert(entry);
                    }
                    state.seq = seq;
                    (state.counter, state.changed_at) = counter;
                }
                let mut holders = self.0.holders.lock().unwrap_or_else(|e| e.into_inner());
                for user in users {
                    holders.remove(&user);
                }
            }
        }
        *self.0.checked.lock().unwrap_or_else(|e| e.into_inner()) = Some(started);
        Ok(())
    }

    /// A cached token holder, when the cache is fresh.
    pub fn token_holder(&self, user_id: &str) -> Option<TokenHolder> {
        if !self.fresh() {
            return None;
        }
        self.0
            .holders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user_id)
            .cloned()
    }

    /// Remembers a token holder read from the database.
    pub fn remember_token_holder(&self, holder: TokenHolder) {
        self.0
            .holders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(holder.0.id.clone(), holder);
    }

    /// Follows the change stream every [`POLL_INTERVAL`] on the current runtime.
    pub fn spawn(&self) {
        let live = self.clone();
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(POLL_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tick.tick().await;
                match live.refresh().await {
                    Ok(()) if failing => {
                        tracing::info!("following the change stream again");
                        failing = false;
                    }
                    Ok(()) => {}
                    Err(e) => {
                        if !failing {
                            tracing::warn!(error = %super::chain(&e), "could not follow the change stream; screening will retry on each request");
                        }
                        failing = true;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::typed::Maybe;
    use crate::domain::registry::SubjectKind;

    fn day(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    fn entry(id: &str, name: &str, listing: Option<(&str, &str)>) -> Entry {
        Entry {
            summary: SubjectSummary {
                id: id.into(),
                name: name.into(),
                kind: SubjectKind::Anchor,
                score: None,
                band: Maybe(None),
                violations: 0,
            },
            id_number_hash: hash_key(&format!("{:0>64}", id.len())),
            uscc: None,
            id_number_masked: None,
            accounts: Box::new([Account {
                key: format!("douyin:{id}").into(),
                platform: "douyin".into(),
                handle: id.into(),
            }]),
            names: Box::new([IndexedName {
                position: 0,
                name: name.into(),
            }]),
            listings: listing
                .map(|(listing_id, last_day)| Listing {
                    id: listing_id.into(),
                    listed_on: Some(day("2026-01-01")),
                    expires_on: Some(day(last_day)),
                    reason: "虚假宣传".into(),
                    decision_no: None,
                    legal_basis: "第八条".into(),
                    authority: Some("市场监督管理局".into()),
                })
                .into_iter()
                .collect(),
            relations: Box::default(),
        }
    }

    #[test]
    fn entries_come_and_go_with_every_key_and_count() {
        let mut state = State {
            counter: 7,
            ..Default::default()
        };
        state.insert(entry("s1", "张伟", Some(("l1", "2026-12-31"))));
        state.insert(entry("s22", "張偉", Some(("l2", "2026-06-30"))));
        assert_eq!(state.len(), 2);
        assert_eq!(state.by_account("douyin:s1"), Some("s1"));
        assert_eq!(state.by_id_number_hash(&format!("{:0>64}", 3)), Some("s22"));
        // Traditional and simplified share their keys.
        assert_eq!(state.with_key(KeyKind::Text, "张伟").count(), 2);
        // The version counts the expiry not yet recorded once its last day has passed.
        assert_eq!(state.list_version(day("2026-06-30")), 7);
        assert_eq!(state.list_version(day("2026-07-01")), 8);
        let search = PublicSearch {
            simplified: Some("张伟".into()),
            ..Default::default()
        };
        let found = |state: &State, on: &str| -> Vec<String> {
            state
                .public_entries(day(on), &search, None, 10)
                .into_iter()
                .map(|e| e.row.listing_id)
                .collect()
        };
        assert_eq!(found(&state, "2026-06-30"), ["l1", "l2"]);
        assert_eq!(found(&state, "2026-07-01"), ["l1"]);
        // The shared texts are kept once.
        let reasons: HashSet<*const u8> = state
            .slots
            .iter()
            .flatten()
            .flat_map(|e| e.listings.iter().map(|l| l.reason.as_ptr()))
            .collect();
        assert_eq!(reasons.len(), 1);

        // Replacing an entry drops what it no longer holds.
        state.insert(entry("s22", "李娜", None));
        assert_eq!(state.with_key(KeyKind::Text, "张伟").count(), 1);
        assert_eq!(state.list_version(day("2026-07-01")), 7);
        assert_eq!(found(&state, "2026-06-30"), ["l1"]);
        state.remove("s1");
        state.remove("s22");
        assert!(state.is_empty());
        assert_eq!(state.free.len(), state.slots.len());
        assert!(state.slots.iter().all(Option::is_none));
        assert!(state.by_hash.is_empty() && state.by_account.is_empty());
        assert!(state.keys.iter().all(HashMap::is_empty));
        assert!(state.listed.is_empty() && state.last_days.is_empty());
    }
}
