"""The policy catalog: démarches, roles and who may do what, as validated data."""

from bridge.catalog.model import Catalog, CatalogError, Demarche, Role, load_catalog

__all__ = ["Catalog", "CatalogError", "Demarche", "Role", "load_catalog"]
