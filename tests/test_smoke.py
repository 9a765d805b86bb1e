def test_invoice_gets_a_number(final_invoice):
    assert final_invoice.number.startswith("FA2026-")
