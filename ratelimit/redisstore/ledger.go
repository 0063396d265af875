package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/batchllm/batchllm/cost"
	"github.com/batchllm/batchllm/internal/lease"
)

// Ledger is a [cost.Ledger] in Redis: the [cost.Budget]s of every process
// given the same key share one cap. It keeps, under key, the spent total,
// each process's reserved total, and each process's lease. A process
// renews its lease with every reservation and settlement and every
// LeaseTTL/3 while it holds reservations; a process whose lease lapses (it
// was killed, it lost its network) is presumed dead, and the next
// reservation by anyone counts its reservations as spent in full (its
// attempts may have been sent and paid). A process that was presumed dead
// but was not takes a new lease and goes on; the settlements of its old
// reservations change nothing, since they were charged in full.
//
// Amounts are kept in nanodollars (Lua's numbers are exact up to 2⁵³, about
// $9 million of them): reservations and costs are rounded up and the limit
// down, so that the rounding never lets spending pass the cap.
type Ledger struct {
	c   redis.UniversalClient
	key string
	ttl time.Duration
	log *slog.Logger

	lease *lease.Lease
	paws  pauser
}

// LedgerOptions configures a [Ledger].
type LedgerOptions struct {
	// LeaseTTL is how long a process's reservations outlive its last sign
	// of life before they count as spent. Default 30 seconds.
	LeaseTTL time.Duration
	// Logger is told when reservations pause because Redis cannot be
	// reached. Default slog.Default().
	Logger *slog.Logger
}

// ledgerKeyTTL is how long a budget's keys outlive their last change: a
// week-long job's budget must outlive its pauses.
const ledgerKeyTTL = 30 * 24 * time.Hour

// NewLedger returns the ledger of the budget named key (say, the run it
// caps) on client. Call Close when done.
func NewLedger(client redis.UniversalClient, key string, o LedgerOptions) *Ledger {
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	l := &Ledger{c: client, key: key, ttl: o.LeaseTTL, log: o.Logger}
	l.paws = pauser{log: o.Logger, what: "budget reservations"}
	l.lease = lease.Start(o.LeaseTTL, l.renew, func(err error) {
		l.log.Warn("redisstore: cannot renew the budget lease", "ledger", l.key, "err", err)
	})
	return l
}

// Close stops renewing the lease. Reservations not settled by then lapse
// with it and count as spent.
func (l *Ledger) Close() { l.lease.Close() }

func (l *Ledger) keys() []string {
	return []string{l.key + ":spent", l.key + ":reserved", l.key + ":leases", l.key + ":dead"}
}

// ledgerPrelude reads the server's clock into now (ms) and charges the
// reservations of lapsed leases as spent. KEYS: spent, reserved (a hash of
// lease → nanodollars), leases (a sorted set of lease by expiry), dead (a
// set of lapsed leases).
const ledgerPrelude = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function num(v) if v == false or v == nil then return 0 end return tonumber(v) end
local function str(n) return string.format('%.0f', n) end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, lease in ipairs(lapsed) do
	local r = num(redis.call('HGET', KEYS[2], lease))
	if r > 0 then redis.call('INCRBY', KEYS[1], str(r)) end
	redis.call('HDEL', KEYS[2], lease)
	redis.call('ZREM', KEYS[3], lease)
	redis.call('SADD', KEYS[4], lease)
end
local function touch()
	for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[#ARGV]) end
end
`

// reserveScript: ARGV lease, limit, need, lease TTL ms, key TTL ms. It
// returns {status, spent, reserved}: status 1 reserved, 0 no room, -1 the
// lease lapsed (take a new one).
var reserveScript = redis.NewScript(ledgerPrelude + `
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return {-1, '0', '0'} end
local spent = num(redis.call('GET', KEYS[1]))
local reserved = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do reserved = reserved + tonumber(v) end
local limit, need = tonumber(ARGV[2]), tonumber(ARGV[3])
if need > limit - spent - reserved then return {0, str(spent), str(reserved)} end
redis.call('HINCRBY', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[1])
touch()
return {1, str(spent), str(reserved)}
`)

// settleScript: ARGV lease, reserved, cost, lease TTL ms, key TTL ms. A
// lapsed lease's reservations were charged in full already: settling one
// changes nothing.
var settleScript = redis.NewScript(ledgerPrelude + `
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return 0 end
local left = redis.call('HINCRBY', KEYS[2], ARGV[1], '-' .. ARGV[2])
if left <= 0 then
	redis.call('HDEL', KEYS[2], ARGV[1])
	redis.call('ZREM', KEYS[3], ARGV[1])
else
	redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[1])
end
redis.call('INCRBY', KEYS[1], ARGV[3])
touch()
return 1
`)

// renewScript: ARGV lease, lease TTL ms, key TTL ms. It extends a lease
// that has not lapsed.
var renewScript = redis.NewScript(ledgerPrelude + `
if redis.call('ZSCORE', KEYS[3], ARGV[1]) == false then return 0 end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
touch()
return 1
`)

// nanodollar is the ledger's unit.
const nanodollar = 1000 * cost.Picodollar

// nano converts an amount to nanodollars, rounding up.
func nano(a cost.Amount) int64 {
	const per = int64(nanodollar)
	n := int64(a) / per
	if int64(a)%per > 0 {
		n++
	}
	return n
}

// maxNano is the largest amount of nanodollars Lua counts exactly.
const maxNano = 1 << 53

// Reserve implements [cost.Ledger].
func (l *Ledger) Reserve(ctx context.Context, limit, need cost.Amount) (cost.LedgerTotals, func(context.Context, cost.Amount) error, error) {
	lim, nd := int64(limit)/int64(nanodollar), nano(need)
	if lim >= maxNano {
		return cost.LedgerTotals{}, nil, fmt.Errorf("redisstore: ledger %s: a limit of %v is more than Redis's Lua can count exactly", l.key, limit)
	}
	for {
		id := l.lease.ID()
		var res []any
		err := l.paws.retry(ctx, func() error {
			var err error
			res, err = reserveScript.Run(ctx, l.c, l.keys(), id, lim, nd, l.ttl.Milliseconds(), ledgerKeyTTL.Milliseconds()).Slice()
			return err
		})
		if err != nil {
			return cost.LedgerTotals{}, nil, fmt.Errorf("redisstore: ledger %s: %w", l.key, err)
		}
		status, _ := res[0].(int64)
		spent, _ := strconv.ParseInt(fmt.Sprint(res[1]), 10, 64)
		reserved, _ := strconv.ParseInt(fmt.Sprint(res[2]), 10, 64)
		tot := cost.LedgerTotals{Spent: cost.Amount(spent) * nanodollar, Reserved: cost.Amount(reserved) * nanodollar}
		switch status {
		case -1:
			if l.lease.Lapsed(id) {
				l.log.Warn("redisstore: this process's budget lease lapsed (its reservations were counted as spent); taking a new one", "ledger", l.key)
			}
			continue
		case 0:
			return tot, nil, nil
		}
		l.lease.Hold()
		var once sync.Once
		settle := func(ctx context.Context, c cost.Amount) error {
			var err error
			once.Do(func() {
				err = l.paws.retry(ctx, func() error {
					return settleScript.Run(ctx, l.c, l.keys(), id, nd, nano(c), l.ttl.Milliseconds(), ledgerKeyTTL.Milliseconds()).Err()
				})
				l.lease.Release()
			})
			if err != nil {
				return fmt.Errorf("redisstore: ledger %s: settle: %w", l.key, err)
			}
			return nil
		}
		return tot, settle, nil
	}
}

// renew extends the lease id by the TTL, unless it lapsed.
func (l *Ledger) renew(ctx context.Context, id string) error {
	return renewScript.Run(ctx, l.c, l.keys(), id, l.ttl.Milliseconds(), ledgerKeyTTL.Milliseconds()).Err()
}

// Totals returns the budget's totals, with the reservations of lapsed
// leases counted as spent.
func (l *Ledger) Totals(ctx context.Context) (cost.LedgerTotals, error) {
	res, err := reserveScript.Run(ctx, l.c, l.keys(), "totals-only", 0, maxNano, l.ttl.Milliseconds(), ledgerKeyTTL.Milliseconds()).Slice()
	if err != nil {
		return cost.LedgerTotals{}, fmt.Errorf("redisstore: ledger %s: %w", l.key, err)
	}
	spent, _ := strconv.ParseInt(fmt.Sprint(res[1]), 10, 64)
	reserved, _ := strconv.ParseInt(fmt.Sprint(res[2]), 10, 64)
	return cost.LedgerTotals{Spent: cost.Amount(spent) * nanodollar, Reserved: cost.Amount(reserved) * nanodollar}, nil
}
