"""Readers: real exports are messy (accept them), bad exports are refused with every row named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import InputError
from toolkit.io.readers import read_ledger, read_notifications, read_returns
from toolkit.settings import ReconcileSettings, load_settings

RETURN_HEADER = (
    "return_id,order_id,customer_email,status,resolution_type,currency,return_total,"
    "refund_to_original_amount,store_credit_amount,bonus_type,bonus_credit_amount,created_at,"
    "resolved_at"
)
LEDGER_HEADER = (
    "transaction_id,created_date,wallet_id,customer_email,type,operation_type,amount,currency,"
    "updated_balance,external_event_description"
)


def _write(path: Path, text: str, *, bom: bool = False, crlf: bool = False) -> Path:
    body = text.strip("\n") + "\n"
    if crlf:
        body = body.replace("\n", "\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body.encode("utf-8"))
    return path


def _refusal(excinfo) -> str:
    return str(excinfo.value)


# --- accepted ---------------------------------------------------------------------------------


def test_a_messy_but_valid_export_is_read_exactly(tmp_path):
    # BOM, CRLF, headers in another case with spaces and dashes, columns reordered, an unknown
    # column, quoted commas, money with symbols, codes, parentheses and thousands separators.
    path = _write(tmp_path / "returns.csv", '''
Return ID,Order-ID,Customer Email,STATUS,Resolution_Type,Currency,Store Credit Amount,Return Total,Refund To Original Amount,Bonus Type,Bonus Credit Amount,Created At,Resolved At,Notes,Portal Theme
R-1,O-1, Ann@Example.com ,resolved,store_credit,usd,"$1,234.50",USD 1234.50,(20.00),percentage,123.45,2026-03-10T11:02:45+08:00,2026-03-11T09:00:00Z,"size too small, colour off",dark
R-2,O-2,bob@example.com,Pending,,JPY,1200,1200.00,-20,none,0,2026-03-10T03:03:12Z,,,light
''', bom=True, crlf=True)
    table = read_returns(path)
    frame = table.frame.set_index("return_id")
    assert frame.at["R-1", "store_credit_amount"] == 123450
    assert frame.at["R-1", "return_total"] == 123450
    assert frame.at["R-1", "refund_to_original_amount"] == -2000
    assert frame.at["R-2", "store_credit_amount"] == 1200  # JPY has no minor digits
    assert frame.at["R-2", "refund_to_original_amount"] == -20
    assert frame.at["R-1", "currency"] == "USD" and frame.at["R-2", "status"] == "pending"
    assert frame.at["R-1", "email_key"] == "ann@example.com"
    assert frame.at["R-1", "created_at"] == pd.Timestamp("2026-03-10T03:02:45Z")
    assert frame.at["R-1", "notes"] == "size too small, colour off"
    assert "portal_theme" not in table.frame.columns
    assert table.naive_timestamps == 0 and table.duplicates_collapsed == 0


def test_naive_timestamps_are_read_in_the_merchant_zone_and_counted(tmp_path):
    path = _write(tmp_path / "returns.csv", RETURN_HEADER + '''
R-1,O-1,a@x.com,resolved,store_credit,MYR,10.00,0,10.00,none,0,2026-03-10T11:02:45,2026-03-11 09:00:00
R-2,O-2,b@x.com,pending,,MYR,10.00,0,10.00,none,0,2026-03-10T11:02:45Z,
''')
    table = read_returns(path, ReconcileSettings(timezone="Asia/Kuala_Lumpur"))
    frame = table.frame.set_index("return_id")
    assert frame.at["R-1", "created_at"] == pd.Timestamp("2026-03-10T03:02:45Z")
    assert frame.at["R-1", "resolved_at"] == pd.Timestamp("2026-03-11T01:00:00Z")
    assert frame.at["R-2", "created_at"] == pd.Timestamp("2026-03-10T11:02:45Z")
    assert table.naive_timestamps == 2


def test_overlapping_exports_are_merged_and_exact_duplicates_counted(tmp_path):
    march = _write(tmp_path / "march.csv", LEDGER_HEADER + '''
T-1,2026-03-02T11:00:00Z,W-1,a@x.com,WALLET_ACTION_START,ADD,50.00,USD,50.00,R-1
T-2,2026-03-20T11:00:00Z,W-1,a@x.com,REDEEM,SUBTRACT,20.00,USD,30.00,
''')
    late_march = _write(tmp_path / "late_march.csv", LEDGER_HEADER + '''
T-2,2026-03-20T11:00:00Z,W-1,a@x.com,REDEEM,SUBTRACT,20.00,USD,30.00,
T-3,2026-03-25T11:00:00Z,W-1,a@x.com,REDEEM,SUBTRACT,5.00,USD,25.00,
T-3,2026-03-25T11:00:00Z,W-1,a@x.com,REDEEM,SUBTRACT,5.00,USD,25.00,
''')
    table = read_ledger([march, late_march])
    assert list(table.frame["transaction_id"]) == ["T-1", "T-2", "T-3"]
    assert table.duplicates_collapsed == 2
    summary = table.to_summary()
    assert [f["rows"] for f in summary["files"]] == [2, 3]
    assert summary["rows"] == 3 and summary["rows_read"] == 5
    assert len(summary["files"][0]["sha256"]) == 64


def test_a_frame_of_contract_text_reads_like_the_file(tmp_path):
    text = LEDGER_HEADER + '''
T-1,2026-03-02T11:00:00Z,W-1,a@x.com,WALLET_ACTION_START,ADD,50.00,USD,50.00,#R-1
'''
    path = _write(tmp_path / "ledger.csv", text)
    from_file = read_ledger(path).frame
    from_frame = read_ledger(pd.read_csv(path, dtype=str, keep_default_na=False)).frame
    pd.testing.assert_frame_equal(from_file, from_frame)
    assert from_file.at[0, "reference"] == "R-1"  # trimmed, the leading '#' ignored
    assert from_file.at[0, "kind"] == "refund_credit"


def test_a_loop_style_export_is_read_through_a_header_map(tmp_path):
    # Loop names its columns its own way; [columns.returns] maps them onto ours.
    export = _write(tmp_path / "loop_returns.csv", '''
id,provider_order_id,order_name,customer,state,outcome,currency,total,refund,gift_card,bonus type,bonus amount,created_at,closed_at
LR-7382018,5551234,#7382018,ann@example.com,resolved,store_credit,USD,164.58,0.00,101.28,none,0.00,2026-03-01T10:00:00Z,2026-03-03T10:00:00Z
''')
    config = _write(tmp_path / "loop.toml", '''
[columns.returns]
id = "return_id"
provider_order_id = "order_id"
customer = "customer_email"
state = "status"
outcome = "resolution_type"
total = "return_total"
refund = "refund_to_original_amount"
gift_card = "store_credit_amount"
"Bonus Amount" = "bonus_credit_amount"
closed_at = "resolved_at"
''')
    settings = load_settings(config)
    row = read_returns(export, settings).frame.iloc[0]
    assert (row["return_id"], row["order_id"], row["order_name"]) == ("LR-7382018", "5551234",
                                                                       "#7382018")
    assert row["store_credit_amount"] == 10128 and row["return_total"] == 16458
    assert row["resolved_at"] == pd.Timestamp("2026-03-03T10:00:00Z")


def test_credit_kind_falls_back_to_the_idempotency_key_and_the_note(tmp_path):
    path = _write(tmp_path / "ledger.csv", LEDGER_HEADER + ''',credit_kind,idempotency_key,note
T-1,2026-03-02T11:00:00Z,W-1,a@x.com,WALLET_ACTION_START,ADD,50.00,USD,50.00,R-1,,R-1:credit,
T-2,2026-03-02T11:00:01Z,W-1,a@x.com,WALLET_ACTION_START,ADD,5.00,USD,55.00,R-1,,,Bonus for R-1
T-3,2026-03-02T11:00:02Z,W-1,a@x.com,WALLET_ACTION_START,ADD,5.00,USD,60.00,R-2,,R-2:bonus,
T-4,2026-03-02T11:00:03Z,W-1,a@x.com,WALLET_ACTION_START,ADD,5.00,USD,65.00,R-3,refund_credit,R-3:bonus,
''')
    kinds = list(read_ledger(path).frame["kind"])
    assert kinds == ["refund_credit", "bonus_credit", "bonus_credit", "refund_credit"]


# --- refused ----------------------------------------------------------------------------------


def test_a_missing_required_column_is_refused_naming_file_and_column(tmp_path):
    path = _write(tmp_path / "ledger.csv", '''
transaction_id,created_date,wallet_id,customer_email,type,operation_type,currency,updated_balance
T-1,2026-03-02T11:00:00Z,W-1,a@x.com,WALLET_ACTION_START,ADD,USD,50.00
''')
    with pytest.raises(InputError) as excinfo:
        read_ledger(path)
    assert f"{path}, column 'amount': missing required column" in _refusal(excinfo)


def test_every_unparseable_value_is_listed_in_one_pass(tmp_path):
    rows = "\n".join(
        f"T-{i},2026-03-02T11:00:{i % 60:02d}Z,W-1,a@x.com,REDEEM,SUBTRACT,2.00,USD,0,"
        for i in range(30)
    )
    path = _write(tmp_path / "ledger.csv", LEDGER_HEADER + "\n" + rows + '''
T-90,yesterday,W-1,a@x.com,REDEM,SUBTRACT,1.005,USD,0,
T-91,2026-03-02T11:00:00Z,W-1,a@x.com,REDEEM,REMOVE,1.00,XYZ,0,
''')
    with pytest.raises(InputError) as excinfo:
        read_ledger(path)
    message = _refusal(excinfo)
    # Thirty good rows, then two rows with five problems between them: all five are reported.
    assert "column 'created_date': not an ISO 8601 timestamp in 1 row(s): rows 32" in message
    assert "column 'type': not one of" in message and "'REDEM'" in message
    assert "column 'operation_type': not one of ADD, SUBTRACT in 1 row(s): rows 33" in message
    assert "column 'amount': not an amount in the row's currency in 1 row(s): rows 32" in message
    assert "column 'currency': unknown currency code in 1 row(s): rows 33" in message


def test_an_amount_too_large_for_any_ledger_is_refused_not_a_crash(tmp_path):
    path = _write(tmp_path / "ledger.csv", LEDGER_HEADER + '''
T-1,2026-03-02T11:00:00Z,W-1,a@x.com,REDEEM,SUBTRACT,"99,999,999,999,999,999.99",USD,0,
T-2,2026-03-02T11:00:01Z,W-1,a@x.com,REDEEM,SUBTRACT,123456789012345678901234.5,USD,0,
T-3,2026-03-02T11:00:02Z,W-1,a@x.com,REDEEM,SUBTRACT,12.50,USD,0,
''')
    with pytest.raises(InputError) as excinfo:
        read_ledger(path)
    assert ("column 'amount': not an amount in the row's currency in 2 row(s): rows 2, 3"
            in _refusal(excinfo))


def test_more_than_twenty_bad_rows_are_shown_as_twenty_and_a_count(tmp_path):
    rows = "\n".join(
        f"T-{i},2026-03-02T11:00:00Z,W-1,a@x.com,REDEEM,SUBTRACT,lots,USD,0," for i in range(25))
    path = _write(tmp_path / "ledger.csv", LEDGER_HEADER + "\n" + rows)
    with pytest.raises(InputError) as excinfo:
        read_ledger(path)
    message = _refusal(excinfo)
    assert "in 25 row(s): rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21 and 5 more" in message


def test_one_transaction_id_with_different_content_is_refused(tmp_path):
    path = _write(tmp_path / "ledger.csv", LEDGER_HEADER + '''
T-1,2026-03-02T11:00:00Z,W-1,a@x.com,WALLET_ACTION_START,ADD,50.00,USD,50.00,R-1
T-2,2026-03-02T12:00:00Z,W-1,a@x.com,REDEEM,SUBTRACT,10.00,USD,40.00,
T-1,2026-03-02T11:00:00Z,W-1,a@x.com,WALLET_ACTION_START,ADD,55.00,USD,55.00,R-1
''')
    with pytest.raises(InputError) as excinfo:
        read_ledger(path)
    assert ("column 'transaction_id': one transaction_id on rows with different content in 2 "
            "row(s): rows 2, 4") in _refusal(excinfo)


def test_one_return_id_with_different_content_across_files_is_refused(tmp_path):
    a = _write(tmp_path / "a.csv", RETURN_HEADER + '''
R-1,O-1,a@x.com,resolved,store_credit,USD,10.00,0,10.00,none,0,2026-03-01T00:00:00Z,2026-03-02T00:00:00Z
''')
    b = _write(tmp_path / "b.csv", RETURN_HEADER + '''
R-1,O-1,a@x.com,resolved,store_credit,USD,12.00,0,12.00,none,0,2026-03-01T00:00:00Z,2026-03-02T00:00:00Z
''')
    with pytest.raises(InputError) as excinfo:
        read_returns([a, b])
    message = _refusal(excinfo)
    assert f"{a}, column 'return_id': one return_id on rows with different content" in message
    assert f"{b}, column 'return_id'" in message


def test_an_empty_file_is_refused_and_the_other_files_are_still_checked(tmp_path):
    empty = _write(tmp_path / "empty.csv", "")
    bad = _write(tmp_path / "bad.csv", RETURN_HEADER + '''
R-1,O-1,a@x.com,resolved,store_credit,USD,10.00,0,10.00,none,0,2026-03-01T00:00:00Z,
''')
    with pytest.raises(InputError) as excinfo:
        read_returns([empty, bad])
    message = _refusal(excinfo)
    assert f"{empty}: empty file without a header" in message
    assert f"{bad}, column 'resolved_at': empty although the status is resolved" in message


def test_a_header_only_file_is_an_empty_export_not_an_error(tmp_path):
    path = _write(tmp_path / "notifications.csv",
                  "notification_id,sent_at,customer_email,template,return_id,transaction_id,amount,currency")
    assert read_notifications(path).rows == 0


# --- large exports: the parser's blocks, mapped files, shared empty columns -------------------


def _ledger_lines(count: int, *, start: int = 0) -> list[str]:
    """Rows cycling through three currencies: dollars, euros (code in lower case) and yen."""
    kinds = ["WALLET_ACTION_START,ADD", "redeem,subtract", "WALLET_ACTION_END,SUBTRACT"]
    amounts = ["{}.{}", "{}.{}", "{}"]
    return [
        f"TX{i:08d},2026-03-{1 + i % 28:02d}T{i % 24:02d}:00:00.{i % 1000:03d}Z,W-{i % 97},"
        f"c{i % 97}@example.com,{kinds[i % 3]},{amounts[i % 3].format(i % 500, i % 10)},"
        f"{['USD', 'eur', 'JPY'][i % 3]},{i % 900},R-{i}"
        for i in range(start, start + count)
    ]


def test_an_export_larger_than_one_parser_block_is_read_row_for_row(tmp_path):
    # About 30 MB: the CSV parser reads it in several blocks, each with its own dictionary of
    # the enumerations; a bad amount sits far into the file.
    lines = _ledger_lines(200_000)
    lines[150_001] = lines[150_001].replace(",1.1,", ",1.15.,")  # row 150,003 in a spreadsheet
    lines[150_002] = lines[150_002].replace(",2,JPY,", ",2.5,JPY,")  # half a yen
    path = _write(tmp_path / "ledger.csv", LEDGER_HEADER + "\n" + "\n".join(lines))
    with pytest.raises(InputError) as excinfo:
        read_ledger(path)
    assert ("column 'amount': not an amount in the row's currency in 2 row(s): rows 150003, "
            "150004 (values '1.15.', '2.5')") in _refusal(excinfo)

    lines = _ledger_lines(200_000)
    _write(path, LEDGER_HEADER + "\n" + "\n".join(lines))
    frame = read_ledger(path).frame
    i = np.arange(200_000)
    assert (frame["currency"].to_numpy() == np.array(["USD", "EUR", "JPY"])[i % 3]).all()
    assert (frame["type"].to_numpy()[1::3] == "REDEEM").all()
    assert (frame["operation_type"].to_numpy()[1::3] == "SUBTRACT").all()
    cents = (i % 500) * 100 + (i % 10) * 10
    assert (frame["amount"].to_numpy() == np.where(i % 3 == 2, i % 500, cents)).all()
    assert frame["created_date"].iloc[-1] == pd.Timestamp("2026-03-24T07:00:00.999Z")
    assert frame["_line"].iloc[-1] == 200_001 and frame["transaction_id"].iloc[-1] == "TX00199999"


def test_a_frame_and_a_file_together_read_as_one_export(tmp_path):
    # A file's enumerations come dictionary-encoded from the parser, a frame's as plain text.
    path = _write(tmp_path / "ledger.csv", LEDGER_HEADER + "\n" + "\n".join(_ledger_lines(3)))
    frame = pd.read_csv(_write(tmp_path / "more.csv",
                               LEDGER_HEADER + "\n" + "\n".join(_ledger_lines(2, start=3))),
                        dtype=str, keep_default_na=False)
    table = read_ledger([path, frame])
    assert list(table.frame["transaction_id"]) == [f"TX{i:08d}" for i in range(5)]
    assert list(table.frame["type"]) == ["WALLET_ACTION_START", "REDEEM", "WALLET_ACTION_END",
                                         "WALLET_ACTION_START", "REDEEM"]
    assert list(table.frame["currency"]) == ["USD", "EUR", "JPY", "USD", "EUR"]
    assert list(table.frame["_file"]) == [0, 0, 0, 1, 1]


def test_columns_an_export_lacks_are_empty_and_independent(tmp_path):
    path = _write(tmp_path / "ledger.csv", LEDGER_HEADER + "\n" + "\n".join(_ledger_lines(3)))
    frame = read_ledger(path).frame
    for column in ("note", "idempotency_key"):
        assert list(frame[column]) == ["", "", ""] and frame[column].dtype == "str"
    # Enumerations and issuers are category columns, one empty category when the export
    # lacks them.
    for column in ("end_reason", "issuer"):
        assert list(frame[column]) == ["", "", ""]
        assert list(frame[column].cat.categories) == [""]
    frame.loc[0, "note"] = "goodwill"
    assert list(frame["issuer"]) == ["", "", ""] and frame.at[0, "note"] == "goodwill"


def test_ids_of_ten_characters_collapse_and_conflict_whatever_their_order(tmp_path):
    lines = _ledger_lines(6)
    # An exact repeat far from its original, and one id reused with other content.
    path = _write(tmp_path / "ledger.csv", LEDGER_HEADER + "\n" + "\n".join(
        lines[3:] + lines[:3] + [lines[4], lines[1].replace(",R-1", ",R-9")]))
    with pytest.raises(InputError) as excinfo:
        read_ledger(path)
    assert ("column 'transaction_id': one transaction_id on rows with different content in 2 "
            "row(s): rows 6, 9") in _refusal(excinfo)
    sorted_path = _write(tmp_path / "sorted.csv",
                         LEDGER_HEADER + "\n" + "\n".join(lines + [lines[5]]))
    table = read_ledger(sorted_path)
    assert table.duplicates_collapsed == 1 and table.rows == 6


def test_timestamps_arrow_cannot_read_are_all_read_by_the_iso_parser(tmp_path):
    # "11:02Z" (no seconds) defeats arrow's cast: pandas then reads every offset-carrying value,
    # and still pinpoints the one that is no timestamp at all.
    path = _write(tmp_path / "ledger.csv", LEDGER_HEADER + '''
T-1,2026-03-10T11:02Z,W-1,a@x.com,REDEEM,SUBTRACT,1.00,USD,0,
T-2,2026-03-10T11:02:45+08:00,W-1,a@x.com,REDEEM,SUBTRACT,1.00,USD,0,
T-3,2026-03-10T11:02:45,W-1,a@x.com,REDEEM,SUBTRACT,1.00,USD,0,
''')
    frame = read_ledger(path, ReconcileSettings(timezone="Asia/Kuala_Lumpur")).frame
    assert list(frame["created_date"]) == [pd.Timestamp("2026-03-10T11:02:00Z"),
                                           pd.Timestamp("2026-03-10T03:02:45Z"),
                                           pd.Timestamp("2026-03-10T03:02:45Z")]
    bad = _write(tmp_path / "bad.csv", path.read_text().replace("T-3,2026-03-10T11:02:45,",
                                                                "T-3,2026-03-10T99:99Z,"))
    with pytest.raises(InputError) as excinfo:
        read_ledger(bad)
    assert ("column 'created_date': not an ISO 8601 timestamp in 1 row(s): rows 4 "
            "(values '2026-03-10T99:99Z')") in _refusal(excinfo)
