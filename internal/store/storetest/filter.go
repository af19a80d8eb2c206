package storetest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

// testExtURN is an extension the suite adds to the User resource type, to
// cover attribute types the RFC schemas do not use.
const testExtURN = "urn:ietf:params:scim:schemas:extension:rostertest:2.0:User"

// testUserType returns the User resource type with the Enterprise User
// extension and the suite's own.
func testUserType() *schema.ResourceType {
	rt := *schema.Default().User()
	ext := &schema.Schema{ID: testExtURN, Name: "RosterTest", Attributes: []*schema.Attribute{
		schema.Int("score"),
		schema.Dec("ratio"),
		schema.Time("hired"),
		schema.Bool("verified"),
		schema.Str("tags", schema.Multi),
		schema.Str("code", schema.CaseExact),
		schema.Cplx("badges", []*schema.Attribute{
			schema.Str("value"), schema.Int("level"), schema.Bool("primary"), schema.Str("note", schema.CaseExact),
		}, schema.Multi),
	}}
	rt.Extensions = append(slices.Clone(rt.Extensions), schema.Extension{Schema: ext})
	return &rt
}

// mustFilter parses and validates a filter.
func mustFilter(t *testing.T, rt *schema.ResourceType, s string) filter.Expr {
	t.Helper()
	e, err := filter.Parse(s)
	require.NoError(t, err, "parse %s", s)
	v, err := filter.Validate(e, rt)
	require.NoError(t, err, "validate %s", s)
	return v
}

const ent = schema.EnterpriseUserURN

// seedUsers returns the users of the differential test: hand-written ones
// for the edge cases, then generated ones for volume.
func seedUsers() []map[string]any {
	users := []map[string]any{
		{
			"userName": "bjensen", "externalId": "701984", "displayName": "Babs Jensen", "nickName": "Babs",
			"title": "Tour Guide", "active": true,
			"name": map[string]any{"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
			"emails": []any{
				map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true},
				map[string]any{"value": "babs@jensen.org", "type": "home"},
			},
			"phoneNumbers": []any{
				map[string]any{"value": "555-555-5555", "type": "work"},
				map[string]any{"value": "555-555-4444", "type": "mobile"},
			},
			"addresses": []any{
				map[string]any{"type": "work", "locality": "Hollywood", "region": "CA", "country": "USA", "primary": true},
				map[string]any{"type": "home", "locality": "Hollywood", "postalCode": "91608"},
			},
			"roles": []any{map[string]any{"value": "admin"}},
			ent: map[string]any{
				"employeeNumber": "701984", "department": "Tour Operations", "costCenter": "4130",
				"manager": map[string]any{"value": "user-01", "displayName": "John Smith"},
			},
			testExtURN: map[string]any{
				"score": int64(10), "ratio": 2.5, "hired": "2020-02-29T12:00:00+01:00", "verified": true,
				"tags": []any{"Red", "blue"}, "code": "ABC-1",
				"badges": []any{
					map[string]any{"value": "gold", "level": int64(3), "primary": true},
					map[string]any{"value": "silver", "level": int64(1)},
				},
			},
		},
		{
			"userName": "JSmith", "displayName": "John Smith", "active": false, "title": "VP", "userType": "Employee",
			"name":   map[string]any{"givenName": "John", "familyName": "Smith"},
			"emails": []any{map[string]any{"value": "John.Smith@Example.COM", "type": "work"}},
			ent:      map[string]any{"department": "Executive"},
			testExtURN: map[string]any{
				"score": int64(-5), "ratio": 3.0, "hired": "2020-02-29T11:00:00Z", "verified": false,
				"code": "abc-1", "tags": []any{"green"},
			},
		},
		{
			"userName": "ÜBER.user", "displayName": "Über User", "title": "100%_off \\ deals",
			"emails": []any{
				map[string]any{"value": "uber@EXAMPLE.com", "primary": true},
				map[string]any{"value": "ueber@example.org", "type": "other", "display": "Ü"},
			},
			testExtURN: map[string]any{"hired": "not-a-date", "score": int64(0)},
		},
		{
			"userName": "carol", "externalId": "EXT-C", "locale": "en-US", "preferredLanguage": "en", "active": true,
			"name": map[string]any{"familyName": "jensen"},
			ent:    map[string]any{"employeeNumber": "42", "manager": map[string]any{"value": "user-00"}},
		},
		{"userName": "dave"},
		{
			"userName": "eve@example.com",
			"emails": []any{
				map[string]any{"value": "eve@example.com", "type": "work"},
				map[string]any{"value": "EVE@example.com", "type": "home", "primary": false},
			},
			"phoneNumbers":     []any{map[string]any{"value": "+1 (555) 010-0000", "type": "work", "primary": true}},
			"ims":              []any{map[string]any{"value": "eve_im", "type": "xmpp"}},
			"x509Certificates": []any{map[string]any{"value": "QUJD"}},
			"photos":           []any{map[string]any{"value": "https://Example.com/Eve.jpg", "type": "photo"}},
		},
		{
			"userName": "frank", "active": true,
			"name":         map[string]any{"givenName": "Frank", "familyName": "Zappa", "middleName": "Vincent"},
			"entitlements": []any{map[string]any{"value": "Read", "primary": true}},
			"addresses":    []any{map[string]any{"type": "home", "country": "DE", "locality": "Berlin"}},
		},
		{
			"userName": "grace_hopper", "displayName": "Grace", "timezone": "America/New_York",
			"profileUrl": "https://example.com/grace",
			testExtURN: map[string]any{
				"ratio": 0.25, "score": int64(1000), "hired": "2020-02-29T10:59:59.999999999Z",
				"badges": []any{
					map[string]any{"value": "bronze", "level": int64(2), "note": "Note"},
					map[string]any{"value": "Gold", "level": int64(5), "primary": false},
				},
			},
		},
	}
	rnd := rand.New(rand.NewPCG(7, 11))
	given := []string{"Ann", "ben", "Cleo", "dmitri", "Émile", "fay"}
	family := []string{"Jensen", "smith", "O'Brien", "ng", "Zappa"}
	domains := []string{"example.com", "Example.org", "corp.example.COM"}
	types := []string{"work", "home", "other"}
	depts := []string{"Sales", "sales ops", "Engineering", "Tour Operations"}
	for i := len(users); i < 40; i++ {
		u := map[string]any{"userName": fmt.Sprintf("user%02d", i)}
		if i%3 == 0 {
			u["userName"] = fmt.Sprintf("User%02d", i)
		}
		name := map[string]any{"givenName": given[rnd.IntN(len(given))]}
		if rnd.IntN(4) > 0 {
			name["familyName"] = family[rnd.IntN(len(family))]
		}
		u["name"] = name
		if n := rnd.IntN(3); n > 0 {
			emails := make([]any, 0, n)
			for j := range n {
				e := map[string]any{"value": fmt.Sprintf("%s.%d@%s", strings.ToLower(given[j]), i, domains[rnd.IntN(len(domains))])}
				if rnd.IntN(3) > 0 {
					e["type"] = types[rnd.IntN(len(types))]
				}
				if j == n-1 && rnd.IntN(2) == 0 {
					e["primary"] = true
				}
				emails = append(emails, e)
			}
			u["emails"] = emails
		}
		switch rnd.IntN(3) {
		case 0:
			u["active"] = true
		case 1:
			u["active"] = false
		}
		if rnd.IntN(2) == 0 {
			u["externalId"] = fmt.Sprintf("X%03d", rnd.IntN(20))
		}
		if rnd.IntN(2) == 0 {
			u[ent] = map[string]any{"department": depts[rnd.IntN(len(depts))]}
		}
		ext := map[string]any{}
		if rnd.IntN(3) > 0 {
			ext["score"] = int64(rnd.IntN(21) - 10)
		}
		if rnd.IntN(3) > 0 {
			ext["ratio"] = float64(rnd.IntN(13)) / 4
		}
		if rnd.IntN(2) > 0 {
			ext["hired"] = time.Date(2020, 2, 28+rnd.IntN(3), rnd.IntN(24), 0, 0, 0, time.FixedZone("", 3600*(rnd.IntN(5)-2))).Format(time.RFC3339)
		}
		if rnd.IntN(2) > 0 {
			ext["verified"] = rnd.IntN(2) == 0
		}
		if len(ext) > 0 {
			u[testExtURN] = ext
		}
		users = append(users, u)
	}
	return users
}

// userFilters is the differential corpus for users; "{T}" stands for the
// test extension's URN and "{E}" for the Enterprise User extension's.
var userFilters = []string{
	`userName eq "bjensen"`,
	`userName eq "BJENSEN"`,
	`userName ne "bjensen"`,
	`userName co "SMITH"`,
	`userName sw "user1"`,
	`userName ew ".COM"`,
	`userName gt "m"`,
	`userName ge "jsmith"`,
	`userName lt "c"`,
	`userName le "carol"`,
	`userName pr`,
	`userName eq "über.user"`,
	`userName sw "Ü"`,
	`userName co ""`,
	`id eq "user-03"`,
	`id eq "USER-03"`,
	`id sw "user-1"`,
	`id ne "user-00"`,
	`id pr`,
	`externalId eq "701984"`,
	`externalId eq "ext-c"`,
	`externalId eq "EXT-C"`,
	`externalId pr`,
	`externalId eq null`,
	`externalId ne null`,
	`externalId co "X0"`,
	`externalId gt "X010"`,
	`displayName eq "babs jensen"`,
	`displayName co "SMITH"`,
	`displayName pr`,
	`displayName eq null`,
	`displayName gt "H"`,
	`name.familyName eq "JENSEN"`,
	`name.familyName ne "jensen"`,
	`name.familyName co "'"`,
	`name.givenName sw "j"`,
	`name.givenName eq "émile"`,
	`name.familyName pr`,
	`name pr`,
	`name eq null`,
	`name.middleName ew "CENT"`,
	`name[givenName eq "barbara" and familyName eq "jensen"]`,
	`name[not (familyName pr)]`,
	`title co "%"`,
	`title co "_"`,
	`title co "\\"`,
	`title sw "100%"`,
	`title ew "DEALS"`,
	`title eq "vp"`,
	`title lt "w"`,
	`nickName pr`,
	`active eq true`,
	`active eq false`,
	`active ne true`,
	`active pr`,
	`active eq "True"`,
	`emails pr`,
	`emails eq null`,
	`emails co "example.com"`,
	`emails.value eq "bjensen@example.com"`,
	`emails.value eq "JOHN.SMITH@EXAMPLE.COM"`,
	`emails.value ew "@example.com"`,
	`emails.value sw "eve"`,
	`emails.value ne "bjensen@example.com"`,
	`emails.value gt "u"`,
	`emails.type eq "work"`,
	`emails.type ne "work"`,
	`emails.primary eq true`,
	`emails.primary eq false`,
	`emails.display pr`,
	`emails[type eq "work" and value co "smith"]`,
	`emails[type eq "work"].value co "example"`,
	`emails[primary eq true]`,
	`emails[not (type pr)]`,
	`emails[type eq "home" or primary eq true]`,
	`emails[value pr and not (type eq "work")]`,
	`emails[value ew ".org" and (type eq "home" or type eq "other")]`,
	`phoneNumbers.value co "555"`,
	`phoneNumbers[type eq "mobile"]`,
	`phoneNumbers pr`,
	`addresses.locality eq "hollywood"`,
	`addresses[type eq "home" and country eq "de"]`,
	`addresses.postalCode pr`,
	`addresses.primary eq true`,
	`addresses pr`,
	`roles.value eq "ADMIN"`,
	`entitlements[primary eq true]`,
	`ims.value sw "EVE"`,
	`x509Certificates.value eq "QUJD"`,
	`x509Certificates.value eq "qujd"`,
	`photos.value co "example.com/eve"`,
	`{E}:employeeNumber eq "701984"`,
	`{E}:department eq "tour operations"`,
	`department sw "sales"`,
	`department pr`,
	`{E}:manager.value eq "user-01"`,
	`{E}:manager eq "user-00"`,
	`{E}:manager pr`,
	`{E}:manager.displayName co "smith"`,
	`{E}:manager[value eq "user-01"]`,
	`{E}:manager eq null`,
	`costCenter pr`,
	`schemas eq "{E}"`,
	`schemas eq "urn:ietf:params:scim:schemas:core:2.0:User"`,
	`schemas co "rostertest"`,
	`schemas pr`,
	`meta.created gt "2024-03-10T19:30:00Z"`,
	`meta.created ge "2024-03-10T21:30:00.123456+02:00"`,
	`meta.created eq "2024-03-10T19:30:00.123456Z"`,
	`meta.created lt "2024-03-10T12:00:00Z"`,
	`meta.lastModified gt "2024-03-11T00:00:00Z"`,
	`meta.lastModified le "2024-03-10T12:00:00Z"`,
	`meta.resourceType eq "User"`,
	`meta.resourceType eq "user"`,
	`meta.version eq "W/\"2\""`,
	`meta pr`,
	`meta[created lt "2024-03-10T12:00:00Z"]`,
	`score gt 5`,
	`score le 0`,
	`score eq 1000`,
	`score ne 10`,
	`score pr`,
	`ratio eq 3`,
	`ratio lt 2.75`,
	`ratio ge 0.25`,
	`{T}:ratio gt 1.5`,
	`hired eq "2020-02-29T11:00:00Z"`,
	`hired gt "2020-02-29T10:00:00Z"`,
	`hired lt "2021-01-01T00:00:00+14:00"`,
	`hired le "2020-02-29T12:59:59.999999999+02:00"`,
	`hired pr`,
	`hired ne "2020-02-29T11:00:00Z"`,
	`verified eq true`,
	`verified eq false`,
	`verified ne false`,
	`tags eq "RED"`,
	`tags co "e"`,
	`tags pr`,
	`tags eq null`,
	`code eq "ABC-1"`,
	`code eq "abc-1"`,
	`code sw "ABC"`,
	`code gt "B"`,
	`code co "c-"`,
	`code ew "C-1"`,
	`badges.value eq "GOLD"`,
	`badges[level gt 2]`,
	`badges[level ge 2 and not (primary eq true)]`,
	`badges.level lt 2`,
	`badges.primary eq false`,
	`badges.note eq "note"`,
	`badges.note eq "Note"`,
	`badges pr`,
	`groups.value eq "group-0"`,
	`groups.display eq "engineering"`,
	`groups[display sw "eng" and value ne "group-3"]`,
	`groups pr`,
	`groups.type eq "direct"`,
	`(userName sw "u" or active eq false) and not (emails pr)`,
	`userName sw "user" and (name.familyName eq "smith" or name.familyName eq "jensen")`,
	`not (not (active eq true))`,
	`not (userName eq "bjensen" or emails.value co "example")`,
	`active eq true and emails[type eq "work"] and not (title pr)`,
	`score ge 0 and ratio le 1 or verified eq true`,
}

// groupFilters is the differential corpus for groups.
var groupFilters = []string{
	`displayName eq "engineering"`,
	`displayName sw "Eng"`,
	`displayName co "platform"`,
	`members pr`,
	`members eq null`,
	`members eq "user-00"`,
	`members.value eq "user-05"`,
	`members[type eq "group"]`,
	`members[type eq "User" and value eq "user-02"]`,
	`members.display co "jensen"`,
	`members.display eq "john smith"`,
	`members.type eq "Group"`,
	`externalId eq "GP"`,
	`not (members.value eq "user-00")`,
	`meta.resourceType eq "Group"`,
	`id eq "group-1"`,
	`displayName pr and not (members[value sw "user-0"])`,
}

// testFilterMatchesEvaluator is the differential test of the SCIM filter
// semantics: for every filter of the corpus, and its negation, the store
// must select exactly the resources filter.Eval accepts.
func testFilterMatchesEvaluator(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	other := newTenant(t, s, "other")
	users, groups := testUserType(), schema.Default().Group()

	seeds := seedUsers()
	uids := userIDs(len(seeds))
	for i, attrs := range seeds {
		r := user(tn, uids[i], attrs, i*3600)
		r.Modified = r.Created.Add(time.Duration(i) * time.Minute)
		mustCreate(t, s, r)
		// A twin in another tenant must never show up.
		mustCreate(t, s, user(other, uids[i], maps.Clone(attrs), i))
	}
	for _, id := range []string{"user-01", "user-05", "user-17"} {
		_, err := update(s, tn, schema.UserResource, id, func(m map[string]any) { m["nickName"] = "updated " + id })
		require.NoError(t, err)
	}
	mustCreate(t, s,
		group(tn, "group-0", "Engineering", 100),
		group(tn, "group-1", "Eng Platform", 101),
		group(tn, "group-2", "Sales", 102),
		group(tn, "group-3", "engineering", 103),
	)
	_, err := update(s, tn, schema.GroupResource, "group-1", func(m map[string]any) { m["externalId"] = "GP" })
	require.NoError(t, err)
	for g, ms := range map[string][]string{
		"group-0": {"user-00", "user-01", "user-05", "group-1"},
		"group-1": {"user-02", "user-03"},
		"group-3": {"user-00", "user-09"},
	} {
		_, err := addMembers(s, tn, g, ms...)
		require.NoError(t, err)
	}

	// The documents filter.Eval sees: the stored attributes plus id, meta
	// and the memberships.
	docsOf := func(rt *schema.ResourceType) ([]string, map[string]map[string]any) {
		page, err := s.Resources().Query(ctx, tn, rt, store.Query{Count: 1000})
		require.NoError(t, err)
		var order []string
		docs := map[string]map[string]any{}
		for _, r := range page.Resources {
			doc := maps.Clone(r.Attrs)
			doc["id"] = r.ID
			doc["meta"] = map[string]any{
				"resourceType": r.Type,
				"created":      r.Created.Format(time.RFC3339Nano),
				"lastModified": r.Modified.Format(time.RFC3339Nano),
				"version":      fmt.Sprintf(`W/"%d"`, r.Version),
			}
			if r.Type == schema.GroupResource {
				var ms []any
				for _, m := range members(t, s, tn, r.ID) {
					e := map[string]any{"value": m.Value, "type": m.Type}
					if m.Display != "" {
						e["display"] = m.Display
					}
					ms = append(ms, e)
				}
				if ms != nil {
					doc["members"] = ms
				}
			} else {
				gs, err := s.Resources().Groups(ctx, tn, r.ID)
				require.NoError(t, err)
				var list []any
				for _, g := range gs {
					list = append(list, map[string]any{"value": g.Value, "display": g.Display, "type": "direct"})
				}
				if list != nil {
					doc["groups"] = list
				}
			}
			order = append(order, r.ID)
			docs[r.ID] = doc
		}
		return order, docs
	}

	check := func(rt *schema.ResourceType, corpus []string) {
		order, docs := docsOf(rt)
		require.NotEmpty(t, order)
		for _, f := range corpus {
			f = strings.NewReplacer("{E}", ent, "{T}", testExtURN).Replace(f)
			for _, text := range []string{f, "not (" + f + ")"} {
				e := mustFilter(t, rt, text)
				var want []string
				for _, id := range order {
					if filter.Eval(e, rt, docs[id]) {
						want = append(want, id)
					}
				}
				page, err := s.Resources().Query(ctx, tn, rt, store.Query{Filter: e, Count: 1000})
				require.NoError(t, err, text)
				var got []string
				for _, r := range page.Resources {
					got = append(got, r.ID)
				}
				require.Equal(t, want, got, "filter %s (canonical %s)", text, e.String())
				require.Equal(t, len(want), page.Total, "total of %s", text)
			}
		}
	}
	require.GreaterOrEqual(t, len(userFilters)+len(groupFilters), 80)
	check(users, userFilters)
	check(groups, groupFilters)
}

// testSortAndPaginate covers RFC 7644 §3.4.2.3 and §3.4.2.4.
func testSortAndPaginate(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	rt := schema.Default().User()
	rnd := rand.New(rand.NewPCG(3, 5))
	const n = 25
	ids := userIDs(n)
	all := make([]store.Resource, 0, n)
	for i, id := range ids {
		attrs := map[string]any{"userName": fmt.Sprintf("%c-%02d", "aBcDe"[rnd.IntN(5)], rnd.IntN(100)) + id[5:]}
		if i%4 != 0 {
			attrs["name"] = map[string]any{"familyName": []string{"Young", "adams", "Baker", "young"}[rnd.IntN(4)]}
		}
		var emails []any
		for j := range rnd.IntN(3) {
			e := map[string]any{"value": fmt.Sprintf("%c%d@example.com", "zYxW"[rnd.IntN(4)], j)}
			if j == 1 && rnd.IntN(2) == 0 {
				e["primary"] = true
			}
			emails = append(emails, e)
		}
		if emails != nil {
			attrs["emails"] = emails
		}
		if i%2 == 0 {
			attrs["active"] = true
		}
		r := user(tn, id, attrs, i)
		mustCreate(t, s, r)
		all = append(all, r)
	}

	// Paging in creation order.
	var paged []string
	for start := 1; start <= n; start += 10 {
		page, err := s.Resources().Query(ctx, tn, rt, store.Query{StartIndex: start, Count: 10})
		require.NoError(t, err)
		require.Equal(t, n, page.Total)
		for _, r := range page.Resources {
			paged = append(paged, r.ID)
		}
	}
	require.Equal(t, ids, paged)
	require.Equal(t, ids[:5], queryIDs(t, s, tn, rt, store.Query{StartIndex: 0, Count: 5}))
	require.Equal(t, ids[:5], queryIDs(t, s, tn, rt, store.Query{StartIndex: -3, Count: 5}))
	page, err := s.Resources().Query(ctx, tn, rt, store.Query{StartIndex: 30, Count: 5})
	require.NoError(t, err)
	require.Equal(t, n, page.Total)
	require.Empty(t, page.Resources)
	page, err = s.Resources().Query(ctx, tn, rt, store.Query{Count: 0})
	require.NoError(t, err)
	require.Equal(t, n, page.Total)
	require.Empty(t, page.Resources)

	// sortBy: the key of each resource, nil for none.
	keyOf := map[string]func(store.Resource) *string{
		"userName": func(r store.Resource) *string {
			return strPtr(filter.Fold(r.Attrs["userName"].(string)))
		},
		"name.familyName": func(r store.Resource) *string {
			if n, ok := r.Attrs["name"].(map[string]any); ok {
				return strPtr(filter.Fold(n["familyName"].(string)))
			}
			return nil
		},
		"emails": func(r store.Resource) *string { // primary or else first
			es, _ := r.Attrs["emails"].([]any)
			for _, e := range es {
				if e.(map[string]any)["primary"] == true {
					return strPtr(filter.Fold(e.(map[string]any)["value"].(string)))
				}
			}
			if len(es) > 0 {
				return strPtr(filter.Fold(es[0].(map[string]any)["value"].(string)))
			}
			return nil
		},
	}
	keyOf["emails.value"] = keyOf["emails"]
	for _, sortBy := range []string{"userName", "name.familyName", "emails", "emails.value"} {
		for _, desc := range []bool{false, true} {
			want := slices.Clone(all)
			key := keyOf[sortBy]
			slices.SortStableFunc(want, func(a, b store.Resource) int {
				ka, kb := key(a), key(b)
				switch {
				case ka == nil && kb == nil:
					return 0
				case ka == nil: // no value: last ascending, first descending
					return boolInt(!desc)
				case kb == nil:
					return -boolInt(!desc)
				case desc:
					return strings.Compare(*kb, *ka)
				}
				return strings.Compare(*ka, *kb)
			})
			var wantIDs []string
			for _, r := range want {
				wantIDs = append(wantIDs, r.ID)
			}
			path := sortPath(t, rt, sortBy)
			name := fmt.Sprintf("sortBy=%s descending=%v", sortBy, desc)
			require.Equal(t, wantIDs, queryIDs(t, s, tn, rt, store.Query{SortBy: path, Descending: desc, Count: 100}), name)
			// Pages of a sorted list concatenate to the list.
			var got []string
			for start := 1; start <= n; start += 7 {
				got = append(got, queryIDs(t, s, tn, rt, store.Query{SortBy: path, Descending: desc, StartIndex: start, Count: 7})...)
			}
			require.Equal(t, wantIDs, got, name+" paged")

			// With a filter.
			f := mustFilter(t, rt, `active eq true`)
			var filtered []string
			for _, id := range wantIDs {
				if slices.Index(ids, id)%2 == 0 {
					filtered = append(filtered, id)
				}
			}
			page, err := s.Resources().Query(ctx, tn, rt, store.Query{Filter: f, SortBy: path, Descending: desc, StartIndex: 2, Count: 3})
			require.NoError(t, err)
			require.Equal(t, len(filtered), page.Total, name)
			var pageIDs []string
			for _, r := range page.Resources {
				pageIDs = append(pageIDs, r.ID)
			}
			require.Equal(t, filtered[1:4], pageIDs, name+" filtered")
		}
	}
}

func sortPath(t *testing.T, rt *schema.ResourceType, s string) *filter.AttrPath {
	t.Helper()
	name, sub, _ := strings.Cut(s, ".")
	res, err := rt.Resolve("", name, sub)
	require.NoError(t, err)
	p := &filter.AttrPath{URI: res.SchemaURN, Name: res.Attr.Name}
	if res.Sub != nil {
		p.Sub = res.Sub.Name
	}
	return p
}

func strPtr(s string) *string { return &s }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return -1
}
