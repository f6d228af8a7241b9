package dashboard

import (
	"errors"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/paylent/paylent/app"
	"github.com/paylent/paylent/domain"
	"github.com/paylent/paylent/domain/account"
	"github.com/paylent/paylent/domain/user"
)

var okOperatorRemoved = notice("operator-removed", "Operator removed.")

func (d *Dashboard) mountOperators(r fiber.Router) {
	r.Get("/operators", page(d.Operators))
	r.Post("/operators", page(d.AddOperator))
	r.Get("/operators/:id/remove", page(d.ConfirmRemoveOperator))
	r.Post("/operators/:id/remove", page(d.RemoveOperator))
}

// operatorRow is an operator of the account as the Operators page lists them.
type operatorRow struct {
	ID, Email, Name string
	You, Disabled   bool
}

// operatorsPage is the Operators page: the account's operators and the add form.
type operatorsPage struct {
	Account   string
	Operators []operatorRow
	Email     string
	Name      string
	Password  string // a new operator's generated password, on the page that adds them only
	Added     operatorRow
}

func operatorsBase(v *view) string { return "/e/" + v.Env.Slug + "/operators" }

// accountOperators lists the operators of the environment's account, by email.
func (d *Dashboard) accountOperators(v *view) []operatorRow {
	a, _ := d.Catalog.Account(v.Env.Account)
	rows := make([]operatorRow, 0, len(a.Operators))
	for id, email := range a.Operators {
		r := operatorRow{ID: id, Email: email, You: id == v.Operator.UserID}
		if u, ok := d.Catalog.User(domain.OperatorsEnvironment, id); ok {
			r.Email, r.Name, r.Disabled = u.Email, u.Name, u.Disabled
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Email < rows[j].Email })
	return rows
}

// Operators serves GET /e/:env/operators: who may manage this environment's account.
func (d *Dashboard) Operators(c *fiber.Ctx, v *view) error {
	return d.operatorsPage(c, v, fiber.StatusOK, operatorsPage{})
}

func (d *Dashboard) operatorsPage(c *fiber.Ctx, v *view, status int, p operatorsPage) error {
	p.Account, p.Operators = v.Env.Account, d.accountOperators(v)
	v.Title, v.Section, v.Data = "Operators", "operators", p
	return d.render(c, status, "operators.html", v)
}

// AddOperator serves POST /e/:env/operators: the person signs in to the dashboard with the
// address; a new address gets a user in the operators' environment with a generated
// password, shown on the answer and nowhere else.
func (d *Dashboard) AddOperator(c *fiber.Ctx, v *view) error {
	p := operatorsPage{Email: user.NormalizeEmail(c.FormValue("email")), Name: strings.TrimSpace(c.FormValue("name"))}
	if p.Name == "" {
		p.Name = p.Email
	}
	if err := user.ValidateEmail(p.Email); err != nil {
		v.Error = d.problem(err)
		return d.operatorsPage(c, v, fiber.StatusBadRequest, p)
	}
	added, err := d.App.AddOperator(c.UserContext(), app.AddOperator{Account: v.Env.Account, Email: p.Email, Name: p.Name},
		app.AccountAuthority{Operator: v.Operator.UserID}, actor(c, v))
	if err != nil { // one append: nothing was written
		v.Error = d.problem(err)
		return d.operatorsPage(c, v, failStatus(c, err), p)
	}
	p.Password = added.Generated
	p.Added = operatorRow{ID: added.UserID, Email: p.Email, Name: p.Name}
	d.waitFor(c.UserContext(), added.Position) //nolint:errcheck // bounded; the list shows what it has
	p.Email, p.Name = "", ""
	v.Notice = p.Added.Email + " now operates account " + v.Env.Account + "."
	return d.operatorsPage(c, v, fiber.StatusCreated, p)
}

// ConfirmRemoveOperator serves GET /e/:env/operators/:id/remove.
func (d *Dashboard) ConfirmRemoveOperator(c *fiber.Ctx, v *view) error {
	for _, r := range d.accountOperators(v) {
		if r.ID == c.Params("id") {
			v.Title, v.Section, v.Data = "Remove "+r.Email, "operators", operatorsPage{Account: v.Env.Account, Added: r}
			return d.render(c, fiber.StatusOK, "operator-remove.html", v)
		}
	}
	return d.message(c, fiber.StatusNotFound, "No such operator", "This account has no such operator.")
}

// RemoveOperator serves POST /e/:env/operators/:id/remove. An account keeps at least one
// operator; removing yourself ends your access to its environments.
func (d *Dashboard) RemoveOperator(c *fiber.Ctx, v *view) error {
	id := strings.Clone(c.Params("id"))
	res, err := d.App.RemoveOperator(c.UserContext(), app.RemoveOperator{Account: v.Env.Account, UserID: id},
		app.AccountAuthority{Operator: v.Operator.UserID}, actor(c, v))
	if errors.Is(err, account.ErrLastOperator) {
		v.Error = d.problem(err)
		return d.operatorsPage(c, v, fiber.StatusBadRequest, operatorsPage{})
	}
	if err != nil {
		return d.message(c, fiber.StatusNotFound, "Not removed", d.problem(err))
	}
	if id == v.Operator.UserID {
		d.waitFor(c.UserContext(), res.Position) //nolint:errcheck // bounded
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	return done(c, operatorsBase(v), okOperatorRemoved)
}
