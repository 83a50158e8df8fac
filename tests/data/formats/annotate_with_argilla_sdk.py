"""Annotate auditor's Argilla records with the Argilla SDK and write them as Dataset.records.to_json does."""
import json, sys, uuid
import argilla as rg
from argilla.records._io._generic import GenericIO

records = {r.id: r for r in (rg.Record.from_dict(d) for d in json.load(open(sys.argv[1], encoding="utf-8")))}
alice, bob = uuid.UUID(int=1), uuid.UUID(int=2)
records["r007"].responses.add(rg.Response("label", "tech", user_id=alice, status="submitted"))
records["r007"].responses.add(rg.Response("note", "about a laptop, not food", user_id=alice, status="submitted"))
records["r007"].responses.add(rg.Response("label", "tech", user_id=bob, status="submitted"))
records["r010"].responses.add(rg.Response("label", "DELETE", user_id=alice, status="submitted"))
records["r011"].responses.add(rg.Response("label", "tech", user_id=bob, status="submitted"))
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(GenericIO.to_list(list(records.values()), flatten=False), f, ensure_ascii=False, indent=1)
