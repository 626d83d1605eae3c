# Placeholder for an empty build.
def test_placeholder():
    assert True
