package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// Columns of a resource as the readers scan them (see scanResource).
const resourceCols = "r.id, r.attrs, r.created, r.modified, r.version"

// writeStmts are prepared once on the write connection.
type writeStmts struct {
	begin, commit, rollback          *sql.Stmt
	savepoint, release, rollbackTo   *sql.Stmt
	tenantKey                        *sql.Stmt
	insertResource, insertValue      *sql.Stmt
	addCount                         *sql.Stmt
	getResource, lookup              *sql.Stmt
	updateResource, versionOf        *sql.Stmt
	deleteValues, deleteResource     *sql.Stmt
	deleteGroupMembers, deleteMember *sql.Stmt
	addMember, removeMember          *sql.Stmt
	insertTenant, insertToken        *sql.Stmt
	touchToken, revokeToken          *sql.Stmt
	setSCIMDisabled, setSettings     *sql.Stmt
	recordDeletion, recordOrphan     *sql.Stmt
	unlinkTenant                     [len(unlinkTenantSQL)]*sql.Stmt
	liveKey, firstGroup              *sql.Stmt
	clearMembers                     *sql.Stmt
	firstType, batchEnd              *sql.Stmt
	purgeRange                       [len(purgeRangeSQL)]*sql.Stmt
	finishPurge                      [len(finishPurgeSQL)]*sql.Stmt
	dropDeletion                     *sql.Stmt
	deleteExpiredTokens              *sql.Stmt
	deleteExpiredSessions            *sql.Stmt
	insertClient, revokeClient       *sql.Stmt
	insertAdmin, updateAdmin         *sql.Stmt
	deleteAdmin, deleteAdminSessions *sql.Stmt
	insertSession, deleteSession     *sql.Stmt
	insertAudit, setSetting          *sql.Stmt
	acquireLease, releaseLease       *sql.Stmt
	insertHistory, insertEvent       *sql.Stmt
	purgeHistory, purgeEvents        *sql.Stmt
	clearGroup                       *sql.Stmt
	purgeChanges                     [len(purgeChangesSQL)]*sql.Stmt
	insertWebhook, updateWebhook     *sql.Stmt
	deleteWebhook                    *sql.Stmt
	insertRedelivery                 *sql.Stmt
	deleteRedelivery                 *sql.Stmt
	insertJob, updateJob, deleteJob  *sql.Stmt
	putProvisionState, putCycle      *sql.Stmt
	deleteLinks                      *sql.Stmt
	purgeProvisionLogs               *sql.Stmt
	purgeProvisionCycles             *sql.Stmt
	deleteProvisionJob               [len(deleteProvisionJobSQL)]*sql.Stmt
	// Reads inside the transaction, which see its writes.
	tenant, tenantBy, token, client *sql.Stmt
	adminBy, webhook, members       *sql.Stmt
	tenantList, setting             *sql.Stmt
	job, provisionState             *sql.Stmt
}

func (w *writeStmts) prepare(ctx context.Context, c *sql.Conn) error {
	defs := []stmtDef{
		{&w.begin, "BEGIN IMMEDIATE"},
		{&w.commit, "COMMIT"},
		{&w.rollback, "ROLLBACK"},
		{&w.savepoint, "SAVEPOINT w"},
		{&w.release, "RELEASE w"},
		{&w.rollbackTo, "ROLLBACK TO w"},
		{&w.tenantKey, "SELECT key FROM tenants WHERE id = ?1"},
		{&w.insertResource, `INSERT INTO resources
			(tenant, type, id, user_name_fold, external_id, display_name_fold, display, attrs, created, modified, version)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1)`},
		{&w.insertValue, `INSERT INTO resource_values
			(resource_seq, attr, idx, tenant, value_fold, type_fold, is_primary, present, elem)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`},
		{&w.addCount, `INSERT INTO resource_counts (tenant, type, n) VALUES (?1, ?2, ?3)
			ON CONFLICT (tenant, type) DO UPDATE SET n = n + excluded.n`},
		{&w.getResource, "SELECT " + resourceCols + " FROM resources r WHERE r.tenant = ?1 AND r.id = ?2 AND r.type = ?3"},
		{&w.lookup, "SELECT seq, type FROM resources WHERE tenant = ?1 AND id = ?2"},
		{&w.updateResource, `UPDATE resources SET user_name_fold = ?4, external_id = ?5, display_name_fold = ?6,
			display = ?7, attrs = ?8, modified = ?9, version = ?10
			WHERE tenant = ?1 AND id = ?2 AND type = ?3 AND version = ?10 - 1 RETURNING seq`},
		{&w.versionOf, "SELECT version FROM resources WHERE tenant = ?1 AND id = ?2 AND type = ?3"},
		{&w.deleteValues, "DELETE FROM resource_values WHERE resource_seq = ?1"},
		{&w.deleteResource, "DELETE FROM resources WHERE tenant = ?1 AND id = ?2 AND type = ?3 RETURNING seq"},
		{&w.deleteGroupMembers, "DELETE FROM memberships WHERE group_seq = ?1"},
		{&w.deleteMember, "DELETE FROM memberships WHERE member_seq = ?1"},
		{&w.addMember, `INSERT OR IGNORE INTO memberships (group_seq, member_seq)
			SELECT ?1, seq FROM resources WHERE tenant = ?2 AND id = ?3`},
		{&w.removeMember, `DELETE FROM memberships WHERE group_seq = ?1
			AND member_seq = (SELECT seq FROM resources WHERE tenant = ?2 AND id = ?3)`},
		{&w.insertTenant, `INSERT INTO tenants (id, name, created, scim_disabled, settings)
			VALUES (?1, ?2, ?3, ?4, ?5) RETURNING key`},
		{&w.insertToken, `INSERT INTO tokens (id, tenant_id, secret_hash, label, created, last_used, expires, revoked, created_by, client_id)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)`},
		{&w.touchToken, "UPDATE tokens SET last_used = ?2 WHERE id = ?1"},
		{&w.revokeToken, "UPDATE tokens SET revoked = ?2 WHERE id = ?1"},
		{&w.setSCIMDisabled, "UPDATE tenants SET scim_disabled = ?2 WHERE id = ?1"},
		{&w.setSettings, "UPDATE tenants SET settings = ?2 WHERE id = ?1"},
		{&w.deleteExpiredTokens, "DELETE FROM tokens WHERE expires < ?1"},
		{&w.deleteExpiredSessions, "DELETE FROM admin_sessions WHERE expires < ?1"},
		{&w.insertClient, `INSERT INTO oauth_clients (id, tenant_id, secret_hash, label, created_by, created, revoked)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`},
		{&w.revokeClient, "UPDATE oauth_clients SET revoked = ?2 WHERE id = ?1"},
		{&w.insertAdmin, "INSERT INTO admins (id, name, password_hash, role, created) VALUES (?1, ?2, ?3, ?4, ?5)"},
		{&w.updateAdmin, "UPDATE admins SET password_hash = ?2, role = ?3 WHERE id = ?1"},
		{&w.deleteAdmin, "DELETE FROM admins WHERE id = ?1"},
		{&w.deleteAdminSessions, "DELETE FROM admin_sessions WHERE admin_id = ?1"},
		{&w.insertSession, "INSERT INTO admin_sessions (id, admin_id, secret_hash, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)"},
		{&w.deleteSession, "DELETE FROM admin_sessions WHERE id = ?2 AND (?1 = '' OR admin_id = ?1)"},
		{&w.insertAudit, `INSERT INTO audit_events (time, actor, action, tenant, target, detail)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING seq`},
		{&w.setSetting, "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value"},
		{&w.recordDeletion, recordDeletionSQL},
		{&w.recordOrphan, recordOrphanSQL},
		{&w.liveKey, liveKeySQL},
		{&w.firstGroup, firstGroupSQL},
		{&w.clearMembers, clearMembersSQL},
		{&w.firstType, firstTypeSQL},
		{&w.batchEnd, batchEndSQL},
		{&w.dropDeletion, dropDeletionSQL},
		{&w.acquireLease, acquireLeaseSQL},
		{&w.releaseLease, releaseLeaseSQL},
		{&w.insertHistory, insertHistorySQL},
		{&w.insertEvent, insertEventSQL},
		{&w.purgeHistory, purgeHistorySQL},
		{&w.purgeEvents, purgeEventsSQL},
		{&w.clearGroup, clearGroupSQL},
		{&w.insertWebhook, insertWebhookSQL},
		{&w.updateWebhook, updateWebhookSQL},
		{&w.deleteWebhook, deleteWebhookSQL},
		{&w.insertRedelivery, insertRedeliverySQL},
		{&w.deleteRedelivery, deleteRedeliverySQL},
		{&w.insertJob, insertJobSQL},
		{&w.updateJob, updateJobSQL},
		{&w.deleteJob, deleteJobSQL},
		{&w.job, jobSQL},
		{&w.putProvisionState, putStateSQL},
		{&w.putCycle, putCycleSQL},
		{&w.deleteLinks, deleteLinksSQL},
		{&w.purgeProvisionLogs, purgeLogsSQL},
		{&w.purgeProvisionCycles, purgeCyclesSQL},
		{&w.provisionState, provisionStateSQL},
		{&w.tenant, tenantSQL},
		{&w.tenantBy, tenantByNameSQL},
		{&w.token, tokenSQL},
		{&w.client, clientSQL},
		{&w.adminBy, adminByNameSQL},
		{&w.webhook, webhookSQL},
		{&w.members, membersSQL},
		{&w.tenantList, tenantListSQL},
		{&w.setting, settingSQL},
	}
	for i, q := range unlinkTenantSQL {
		defs = append(defs, stmtDef{&w.unlinkTenant[i], q})
	}
	for i, q := range purgeRangeSQL {
		defs = append(defs, stmtDef{&w.purgeRange[i], q})
	}
	for i, q := range finishPurgeSQL {
		defs = append(defs, stmtDef{&w.finishPurge[i], q})
	}
	for i, q := range deleteProvisionJobSQL {
		defs = append(defs, stmtDef{&w.deleteProvisionJob[i], q})
	}
	for i, q := range purgeChangesSQL {
		defs = append(defs, stmtDef{&w.purgeChanges[i], q})
	}
	return prepareAll(func(q string) (*sql.Stmt, error) { return c.PrepareContext(ctx, q) }, defs)
}

// readStmts are prepared on the read pool; database/sql prepares each on a
// connection the first time it runs there and keeps it.
type readStmts struct {
	ping             *sql.Stmt
	tenantKey        *sql.Stmt
	getResource      *sql.Stmt
	count            *sql.Stmt
	lookup           *sql.Stmt
	members, groups  *sql.Stmt
	groupsOf         *sql.Stmt
	tenant, tenantBy *sql.Stmt
	tenantList       *sql.Stmt
	token, tokenList *sql.Stmt
	client           *sql.Stmt
	clientList       *sql.Stmt
	admin, adminBy   *sql.Stmt
	adminList        *sql.Stmt
	session          *sql.Stmt
	audit            *sql.Stmt
	auditTenant      *sql.Stmt
	setting          *sql.Stmt
	pendingDeletions *sql.Stmt
	orphanKeys       *sql.Stmt
	events           *sql.Stmt
	eventsTenant     *sql.Stmt
	lastEvent        *sql.Stmt
	oldestEvent      *sql.Stmt
	webhook          *sql.Stmt
	webhookList      *sql.Stmt
	webhookListAll   *sql.Stmt
	redeliveries     *sql.Stmt
	job, jobList     *sql.Stmt
	provisionState   *sql.Stmt
	link             *sql.Stmt
	linkByTarget     *sql.Stmt
	links, linksKind *sql.Stmt
	cycle, cycles    *sql.Stmt

	credentialsVersion *sql.Stmt
}

const (
	tenantCols  = "id, name, created, scim_disabled, settings"
	tokenCols   = "id, tenant_id, secret_hash, label, created, last_used, expires, revoked, created_by, client_id"
	clientCols  = "id, tenant_id, secret_hash, label, created_by, created, revoked"
	adminCols   = "id, name, password_hash, role, created"
	sessionCols = "id, admin_id, secret_hash, created, expires"
	auditCols   = "seq, time, actor, action, tenant, target, detail"

	tenantSQL       = "SELECT " + tenantCols + " FROM tenants WHERE id = ?1"
	tenantByNameSQL = "SELECT " + tenantCols + " FROM tenants WHERE name = ?1"
	tenantListSQL   = "SELECT " + tenantCols + " FROM tenants ORDER BY name"
	settingSQL      = "SELECT value FROM settings WHERE key = ?1"
	tokenSQL        = "SELECT " + tokenCols + " FROM tokens WHERE id = ?1"
	clientSQL       = "SELECT " + clientCols + " FROM oauth_clients WHERE id = ?1"
	adminByNameSQL  = "SELECT " + adminCols + " FROM admins WHERE name = ?1"
	// membersSQL lists the members of group seq ?1.
	membersSQL = `SELECT x.id, x.type, x.display FROM memberships m JOIN resources x ON x.seq = m.member_seq
		WHERE m.group_seq = ?1 ORDER BY m.member_seq`
)

func (r *readStmts) prepare(ctx context.Context, db *sql.DB) error {
	return prepareAll(func(q string) (*sql.Stmt, error) { return db.PrepareContext(ctx, q) }, []stmtDef{
		{&r.ping, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"},
		{&r.tenantKey, "SELECT key FROM tenants WHERE id = ?1"},
		{&r.getResource, "SELECT " + resourceCols + " FROM resources r WHERE r.tenant = ?1 AND r.id = ?2 AND r.type = ?3"},
		{&r.count, "SELECT n FROM resource_counts WHERE tenant = ?1 AND type = ?2"},
		{&r.lookup, "SELECT seq, type FROM resources WHERE tenant = ?1 AND id = ?2"},
		{&r.members, membersSQL},
		{&r.groups, `SELECT x.id, x.display FROM resources me
			JOIN memberships m ON m.member_seq = me.seq
			JOIN resources x ON x.seq = m.group_seq
			WHERE me.tenant = ?1 AND me.id = ?2 ORDER BY m.group_seq`},
		{&r.groupsOf, `SELECT me.id, x.id, x.display FROM resources me
			JOIN memberships m ON m.member_seq = me.seq
			JOIN resources x ON x.seq = m.group_seq
			WHERE me.tenant = ?1 AND me.id IN (SELECT value FROM json_each(?2)) ORDER BY me.seq, m.group_seq`},
		{&r.tenant, tenantSQL},
		{&r.tenantBy, tenantByNameSQL},
		{&r.tenantList, tenantListSQL},
		{&r.token, tokenSQL},
		{&r.tokenList, "SELECT " + tokenCols + " FROM tokens WHERE tenant_id = ?1 ORDER BY created, id"},
		{&r.client, clientSQL},
		{&r.clientList, "SELECT " + clientCols + " FROM oauth_clients WHERE tenant_id = ?1 ORDER BY created, id"},
		{&r.admin, "SELECT " + adminCols + " FROM admins WHERE id = ?1"},
		{&r.adminBy, adminByNameSQL},
		{&r.adminList, "SELECT " + adminCols + " FROM admins ORDER BY name"},
		{&r.session, "SELECT " + sessionCols + " FROM admin_sessions WHERE id = ?1"},
		{&r.audit, "SELECT " + auditCols + " FROM audit_events WHERE seq > ?1 ORDER BY seq LIMIT ?2"},
		{&r.auditTenant, "SELECT " + auditCols + " FROM audit_events WHERE tenant = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"},
		{&r.setting, settingSQL},
		{&r.pendingDeletions, pendingDeletionsSQL},
		{&r.orphanKeys, orphanKeysSQL},
		{&r.events, eventsSQL},
		{&r.eventsTenant, eventsTenantSQL},
		{&r.lastEvent, lastEventSQL},
		{&r.oldestEvent, oldestEventSQL},
		{&r.webhook, webhookSQL},
		{&r.webhookList, webhookListSQL},
		{&r.webhookListAll, webhookListAllSQL},
		{&r.redeliveries, redeliveriesSQL},
		{&r.job, jobSQL},
		{&r.jobList, jobListSQL},
		{&r.provisionState, provisionStateSQL},
		{&r.link, linkSQL},
		{&r.linkByTarget, linkByTargetSQL},
		{&r.links, linksSQL},
		{&r.linksKind, linksKindSQL},
		{&r.cycle, cycleSQL},
		{&r.cycles, cyclesSQL},
		{&r.credentialsVersion, "SELECT v FROM credentials_version WHERE id = 1"},
	})
}

type stmtDef struct {
	dst   **sql.Stmt
	query string
}

func prepareAll(prep func(string) (*sql.Stmt, error), defs []stmtDef) error {
	for _, d := range defs {
		st, err := prep(d.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", d.query, err)
		}
		*d.dst = st
	}
	return nil
}
