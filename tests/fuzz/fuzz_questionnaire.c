/*
 * fuzz_questionnaire.c — libFuzzer target for questionnaire_parse() (a
 * batch's questionnaire, from outside: `--questionnaire`, POST /v1/batches).
 * Checks the contract: failure gives INVALID, TOO_LARGE or NOMEM with a
 * message "fuzz:LINE:COL: …" (line and column >= 1) and no result; success
 * gives 1..QN_QUESTIONS_MAX questions with unique ids found again by
 * questionnaire_find, choices found by qn_choice_find, conditions on an
 * earlier choice question naming its choices, phrases phrase_check accepts,
 * windows in range, and answer methods that fit the type.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/phrase.h"
#include "audit/questionnaire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_phrases(const struct qn_phrases *p)
{
	const char **lists[] = {p->all, p->any, p->none};
	size_t n[] = {p->nall, p->nany, p->nnone};
	char why[256];
	if (!p->nall && !p->nany)
		__builtin_trap();
	for (size_t l = 0; l < 3; l++)
		for (size_t i = 0; i < n[l]; i++)
			if (!phrase_check(lists[l][i], why, sizeof(why)))
				__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct questionnaire *q = NULL;
	struct parley_error err = {0};
	enum parley_err rc = questionnaire_parse((const char *)data, size, "fuzz", &q, &err);
	if (rc != PARLEY_OK) {
		int line = 0, col = 0;
		if (rc != PARLEY_ERR_INVALID && rc != PARLEY_ERR_TOO_LARGE && rc != PARLEY_ERR_NOMEM)
			__builtin_trap();
		if (err.code != rc || q)
			__builtin_trap();
		if (rc == PARLEY_ERR_INVALID &&
		    (sscanf(err.msg, "fuzz:%d:%d: ", &line, &col) != 2 || line < 1 || col < 1))
			__builtin_trap();
		if (strncmp(err.msg, "fuzz:", 5) != 0)
			__builtin_trap();
		return 0;
	}
	if (!q || q->n < 1 || q->n > QN_QUESTIONS_MAX || !q->version[0])
		__builtin_trap();
	for (size_t i = 0; i < q->n; i++) {
		const struct qn_question *x = &q->q[i];
		if (questionnaire_find(q, x->id) != x || !x->text[0] || x->line < 1)
			__builtin_trap();
		if (x->weight < 0 || x->max_score < 0 || x->nchoices > QN_CHOICES_MAX)
			__builtin_trap();
		for (size_t c = 0; c < x->nchoices; c++) {
			if (qn_choice_find(x, x->choices[c].id) != &x->choices[c] || !x->choices[c].text)
				__builtin_trap();
			if (x->choices[c].has_phrases)
				check_phrases(&x->choices[c].phrases);
		}
		if (x->type == QN_YES_NO && (x->nchoices != 2 || strcmp(x->choices[0].id, "yes") ||
					     strcmp(x->choices[1].id, "no")))
			__builtin_trap();
		if ((x->type == QN_NUMBER || x->type == QN_TEXT) && x->nchoices)
			__builtin_trap();
		if (x->type == QN_TEXT && x->how != QN_BY_LLM)
			__builtin_trap();
		if (x->how == QN_BY_METRIC && x->type == QN_YES_NO && x->metric.op == QN_OP_NONE)
			__builtin_trap();
		if (x->how == QN_BY_PHRASES && x->type == QN_YES_NO)
			check_phrases(&x->phrases);
		if (x->window.kind != CALL_WINDOW_CALL &&
		    (x->window.amount <= 0 || (x->window.percent && x->window.amount > 100)))
			__builtin_trap();
		if (x->condition.kind != QN_COND_NONE) {
			if (x->condition.question >= i || !x->condition.nvalues)
				__builtin_trap();
			const struct qn_question *r = &q->q[x->condition.question];
			for (size_t v = 0; v < x->condition.nvalues; v++)
				if (!qn_choice_find(r, x->condition.values[v]))
					__builtin_trap();
		}
		for (size_t r = 0; r < x->nranges; r++)
			if (x->ranges[r].min > x->ranges[r].max)
				__builtin_trap();
	}
	questionnaire_free(q);
	return 0;
}
