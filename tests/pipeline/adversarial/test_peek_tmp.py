from tests.pipeline.test_adversarial import *
def test_peek(batch):
    for k, j in batch.jobs.items():
        print(k, j["state"], j["sandbox"], j["wall_s"], j["kind"])
    for e in batch.jobs["g"]["events"]:
        print(e["kind"], e["message"][:200])
