"""kinfold's own access rules as Cedar policy text, enforced beside every approved agreement.

Kept as text in a module (not a data file) so it ships with the package; the transparency page
publishes it exactly as written here. `kinfold.access.policy` is the same rules read in Python;
the two are compared on thousands of generated requests (tests/access/test_cedar_agrees.py).
"""

HOUSE_POLICY = """\
// kinfold's own rules, enforced beside every approved data-sharing agreement.
// Agreements say what partners share, with whom and on what terms; these rules say what each role
// does at all, and that an agreement can never widen them. Anything not permitted is denied.

// ---------------------------------------------------------------- what each role does

// The data protection officer oversees the audit log.
@id("house/audit-log")
permit (principal in Kinfold::Role::"dpo", action == Kinfold::Action::"audit:view", resource);

// Key workers, team managers and analysts list and open the families their role works with.
@id("house/families")
permit (
  principal,
  action in [Kinfold::Action::"family:list", Kinfold::Action::"family:view"],
  resource
)
when {
  principal in
    [Kinfold::Role::"key_worker", Kinfold::Role::"team_manager", Kinfold::Role::"analyst"]
};

// Only a family's key worker sees names and contact details.
@id("house/contact")
permit (
  principal in Kinfold::Role::"key_worker",
  action == Kinfold::Action::"family:contact:view",
  resource
);

// ... and only once the family's journey has reached "contacted", for that family only.
@id("house/contact-released")
forbid (principal, action == Kinfold::Action::"family:contact:view", resource)
unless { context.contact_released };

// Team managers allocate families to key workers.
@id("house/assign")
permit (
  principal in Kinfold::Role::"team_manager",
  action == Kinfold::Action::"family:assign",
  resource
);

// Key workers record consent, and its withdrawal; they and their managers see who agreed to what.
@id("house/consent")
permit (
  principal in Kinfold::Role::"key_worker",
  action in [Kinfold::Action::"family:consent:view", Kinfold::Action::"family:consent:record"],
  resource
);

@id("house/consent-oversight")
permit (
  principal in Kinfold::Role::"team_manager",
  action == Kinfold::Action::"family:consent:view",
  resource
);

// An override is proposed by a key worker or a manager ...
@id("house/override-propose")
permit (principal, action == Kinfold::Action::"override:propose", resource)
when { principal in [Kinfold::Role::"key_worker", Kinfold::Role::"team_manager"] };

// ... and decided by a team manager or the data protection officer, who see every override.
@id("house/override-decide")
permit (
  principal,
  action in [Kinfold::Action::"override:decide", Kinfold::Action::"override:list"],
  resource
)
when { principal in [Kinfold::Role::"team_manager", Kinfold::Role::"dpo"] };

// Anyone involved may end an override early: narrowing is always allowed.
@id("house/override-revoke")
permit (principal, action == Kinfold::Action::"override:revoke", resource)
when {
  principal in
    [Kinfold::Role::"key_worker", Kinfold::Role::"team_manager", Kinfold::Role::"dpo"]
};

// Key workers send referrals to partners, and follow those they sent.
@id("house/referral-send")
permit (
  principal in Kinfold::Role::"key_worker",
  action in [Kinfold::Action::"referral:send", Kinfold::Action::"referral:view"],
  resource
);

// A partner's practitioners see and answer the referrals sent to their organisation.
@id("house/referral-receive")
permit (
  principal in Kinfold::Role::"partner_practitioner",
  action in
    [
      Kinfold::Action::"referral:list",
      Kinfold::Action::"referral:view",
      Kinfold::Action::"referral:respond"
    ],
  resource
);

// ---------------------------------------------------------------- what no agreement can widen

// Flags are for the council's programme staff only.
@id("house/flags-roles")
forbid (principal, action == Kinfold::Action::"family:flags:view", resource)
unless {
  principal in
    [Kinfold::Role::"key_worker", Kinfold::Role::"team_manager", Kinfold::Role::"analyst"]
};

// Details are for key workers, team managers (under an override) and partners' practitioners
// (through a referral); never for analysts, the data protection officer or administrators.
@id("house/details-roles")
forbid (principal, action == Kinfold::Action::"record:detail:view", resource)
unless {
  principal in
    [
      Kinfold::Role::"key_worker",
      Kinfold::Role::"team_manager",
      Kinfold::Role::"partner_practitioner"
    ]
};

// A key worker works only with the families allocated to them.
@id("house/key-worker-assigned")
forbid (
  principal in Kinfold::Role::"key_worker",
  action in
    [
      Kinfold::Action::"family:view",
      Kinfold::Action::"family:flags:view",
      Kinfold::Action::"family:contact:view",
      Kinfold::Action::"record:detail:view",
      Kinfold::Action::"family:assign",
      Kinfold::Action::"family:consent:view",
      Kinfold::Action::"family:consent:record",
      Kinfold::Action::"override:propose",
      Kinfold::Action::"override:decide",
      Kinfold::Action::"override:revoke",
      Kinfold::Action::"referral:send",
      Kinfold::Action::"referral:view",
      Kinfold::Action::"referral:respond"
    ],
  resource
)
unless { context.assigned };

// A partner's practitioner sees a family only through an open referral to their organisation.
@id("house/partner-referred")
forbid (
  principal in Kinfold::Role::"partner_practitioner",
  action in
    [
      Kinfold::Action::"family:view",
      Kinfold::Action::"family:flags:view",
      Kinfold::Action::"family:contact:view",
      Kinfold::Action::"record:detail:view",
      Kinfold::Action::"family:assign",
      Kinfold::Action::"family:consent:view",
      Kinfold::Action::"family:consent:record",
      Kinfold::Action::"override:propose",
      Kinfold::Action::"override:decide",
      Kinfold::Action::"override:revoke",
      Kinfold::Action::"referral:send",
      Kinfold::Action::"referral:view",
      Kinfold::Action::"referral:respond"
    ],
  resource
)
unless { context.referred };

// An override needs two people: whoever proposed it cannot approve or reject it.
@id("house/second-person")
forbid (principal, action == Kinfold::Action::"override:decide", resource)
when { context.own_proposal };
"""
